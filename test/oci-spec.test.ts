/**
 * The container's config.json as data: compared with what Podman 4.3.1 generated on this kind of
 * host (`podman create`, then config.json read back), plus the rootless, read-only, init, user and
 * limit variations; and the ENTRYPOINT/CMD and USER rules that feed it. test/runc-spec.test.ts
 * runs these specs for real.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveCommand, type CommandOptions, type ImageCommand } from '../src/core/container-command.js';
import { resolveUser } from '../src/core/container-user.js';
import { TspodError } from '../src/core/errors.js';
import { buildSpec, INIT_PATH, serializeSpec, type HostFacts, type Mount, type SpecInput } from '../src/core/oci-spec.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, parseTmpfs, parseUlimit } from '../src/core/run-options.js';

const UNLIMITED = 2n ** 64n - 1n;

/** A host where root may raise limits and holds every capability. */
const ROOT_HOST: HostFacts = {
  boundingCapabilities: ALL_CAPABILITIES,
  canRaiseLimits: true,
  limits: { RLIMIT_NOFILE: { soft: 1024n, hard: 524288n }, RLIMIT_NPROC: { soft: 3000n, hard: 3000n } },
  nrOpen: 1048576,
};
/** An unprivileged user's view: no CAP_SYS_RESOURCE, a bounding set without it either. */
const USER_HOST: HostFacts = {
  boundingCapabilities: ALL_CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE'),
  canRaiseLimits: false,
  limits: { RLIMIT_NOFILE: { soft: 20000n, hard: 20000n }, RLIMIT_NPROC: { soft: 3000n, hard: 3000n }, RLIMIT_CORE: { soft: 0n, hard: UNLIMITED } },
  nrOpen: 1048576,
};

const ETC = { hosts: '/store/c/userdata/hosts', hostname: '/store/c/userdata/hostname', resolvConf: '/store/c/userdata/resolv.conf' };
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n';
const GROUP = 'root:x:0:\nwheel:x:10:root,app\napp:x:1000:\n';

function input(overrides: Partial<SpecInput> = {}): SpecInput {
  return {
    rootfs: '/store/c/merged',
    readOnly: false,
    args: ['sh', '-c', 'id'],
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=d5b6a819d0b6', 'HOME=/root'],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [], home: '/root' },
    terminal: false,
    hostname: 'd5b6a819d0b6',
    capabilities: DEFAULT_CAPABILITIES,
    privileged: false,
    noNewPrivileges: false,
    ulimits: [],
    tmpfs: [],
    network: 'private',
    etcFiles: ETC,
    rootless: false,
    host: ROOT_HOST,
    ...overrides,
  };
}

const mount = (spec: { mounts: Mount[] }, destination: string) => spec.mounts.find((m) => m.destination === destination);
const destinations = (spec: { mounts: Mount[] }) => spec.mounts.map((m) => m.destination);

/** Parts of Podman 4.3.1's config.json for `podman create tiny sh -c id` as root (seccomp aside). */
const PODMAN_ROOT = {
  process: {
    user: { uid: 0, gid: 0, umask: 18 },
    args: ['sh', '-c', 'id'],
    cwd: '/',
    capabilities: [
      'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE',
      'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT',
    ],
    nofile: { type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1048576 },
  },
  hostname: 'd5b6a819d0b6',
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'noexec', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: ETC.resolvConf, options: ['bind', 'rprivate'] },
    { destination: '/etc/hosts', type: 'bind', source: ETC.hosts, options: ['bind', 'rprivate'] },
    { destination: '/etc/hostname', type: 'bind', source: ETC.hostname, options: ['bind', 'rprivate'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['rprivate', 'nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ],
  linux: {
    sysctl: { 'net.ipv4.ping_group_range': '0 0' },
    firstDeviceRule: { allow: false, access: 'rwm' },
    namespaces: ['pid', 'network', 'ipc', 'uts', 'mount'],
    maskedPaths: [
      '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
      '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/fs/selinux', '/sys/dev/block',
    ],
    readonlyPaths: ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
  },
};

test('root, defaults: what Podman generates (seccomp, .containerenv, cgroup path and pids limit aside)', () => {
  const spec = buildSpec(input());
  assert.is(spec.ociVersion, '1.0.2-dev');
  assert.equal(spec.process.user, PODMAN_ROOT.process.user);
  assert.equal(spec.process.args, PODMAN_ROOT.process.args);
  assert.is(spec.process.cwd, '/');
  assert.is(spec.process.terminal, undefined);
  assert.is(spec.process.noNewPrivileges, undefined);
  const caps = PODMAN_ROOT.process.capabilities;
  assert.equal(spec.process.capabilities, { bounding: caps, effective: caps, permitted: caps });
  assert.equal(spec.process.rlimits, [PODMAN_ROOT.process.nofile]);
  assert.equal(spec.root, { path: '/store/c/merged' });
  assert.is(spec.hostname, PODMAN_ROOT.hostname);
  for (const expected of PODMAN_ROOT.mounts) assert.equal(mount(spec, expected.destination), expected, expected.destination);
  // Podman bind-mounts a tmpfs it made on the host; a tmpfs of the container's own is the same thing here.
  assert.equal(mount(spec, '/dev/shm'), { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'] });
  assert.is(spec.mounts.length, PODMAN_ROOT.mounts.length + 1);
  assert.equal(spec.linux.sysctl, PODMAN_ROOT.linux.sysctl);
  assert.equal(spec.linux.namespaces.map((n) => n.type), PODMAN_ROOT.linux.namespaces);
  assert.equal(spec.linux.maskedPaths, PODMAN_ROOT.linux.maskedPaths);
  assert.equal(spec.linux.readonlyPaths, PODMAN_ROOT.linux.readonlyPaths);
  assert.equal(spec.linux.resources!.devices[0], PODMAN_ROOT.linux.firstDeviceRule);
  assert.equal(spec.annotations, {});
  assert.not.ok('seccomp' in spec.linux);
});

test('root: the default device nodes are listed and allowed; every mount comes after its parent', () => {
  const spec = buildSpec(input());
  assert.equal(
    spec.linux.devices!.map((d) => `${d.path} ${d.type} ${d.major}:${d.minor} ${d.fileMode.toString(8)}`),
    ['/dev/null c 1:3 666', '/dev/zero c 1:5 666', '/dev/full c 1:7 666', '/dev/random c 1:8 666', '/dev/urandom c 1:9 666', '/dev/tty c 5:0 666'],
  );
  assert.equal(spec.linux.resources!.devices.slice(1).map((r) => `${r.allow} ${r.type} ${r.major}:${r.minor} ${r.access}`), [
    'true c 1:3 rwm', 'true c 1:5 rwm', 'true c 1:7 rwm', 'true c 1:8 rwm', 'true c 1:9 rwm', 'true c 5:0 rwm',
  ]);
  const spec2 = buildSpec(input({ readOnly: true, init: { path: '/usr/bin/catatonit' }, tmpfs: [parseTmpfs('/dev/x/y'), parseTmpfs('/dev/x')] }));
  const order = destinations(spec2);
  for (const [parent, child] of [['/dev', '/dev/pts'], ['/dev', '/dev/x'], ['/dev/x', '/dev/x/y'], ['/sys', '/sys/fs/cgroup'], ['/run', INIT_PATH]]) {
    assert.ok(order.indexOf(parent) >= 0 && order.indexOf(parent) < order.indexOf(child), `${parent} before ${child}: ${order}`);
  }
});

test('rootless (private network): no devices cgroup, nodes still listed (the runtime binds them), sysfs of its own', () => {
  const spec = buildSpec(input({ rootless: true, host: USER_HOST, gidMappings: [{ containerID: 0, hostID: 1001, size: 1 }, { containerID: 1, hostID: 200000, size: 65536 }] }));
  assert.is(spec.linux.resources, undefined);
  assert.is(spec.linux.devices!.length, 6);
  assert.equal(mount(spec, '/sys')!.type, 'sysfs');
  assert.equal(mount(spec, '/sys/fs/cgroup')!.type, 'cgroup');
  assert.ok(mount(spec, '/dev/pts')!.options.includes('gid=5'));
  assert.not.ok(spec.linux.namespaces.some((n) => n.type === 'user'), 'tspod already runs in the user namespace');
  assert.not.ok(spec.linux.maskedPaths!.includes('/sys/kernel'));
});

test('rootless without gid 5 in the namespace: devpts gets no gid option', () => {
  const spec = buildSpec(input({ rootless: true, host: USER_HOST, gidMappings: [{ containerID: 0, hostID: 1001, size: 1 }] }));
  assert.equal(mount(spec, '/dev/pts')!.options, ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620']);
});

test('network host: no network namespace and no net sysctl; rootless binds /sys and masks /sys/kernel', () => {
  const root = buildSpec(input({ network: 'host' }));
  assert.equal(root.linux.namespaces.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount']);
  assert.is(root.linux.sysctl, undefined);
  assert.is(mount(root, '/sys')!.type, 'sysfs');
  const rootless = buildSpec(input({ network: 'host', rootless: true, host: USER_HOST }));
  assert.equal(mount(rootless, '/sys'), { destination: '/sys', type: 'bind', source: '/sys', options: ['rprivate', 'nosuid', 'noexec', 'nodev', 'ro', 'rbind'] });
  assert.equal(mount(rootless, '/sys/fs/cgroup'), {
    destination: '/sys/fs/cgroup',
    type: 'bind',
    source: '/sys/fs/cgroup',
    options: ['rprivate', 'nosuid', 'noexec', 'nodev', 'ro', 'rbind'],
  });
  assert.ok(rootless.linux.maskedPaths!.includes('/sys/kernel'));
  const none = buildSpec(input({ network: 'none' }));
  assert.ok(none.linux.namespaces.some((n) => n.type === 'network'));
});

test('--read-only (Podman 4.3.1): readonly root, tmpfs on /tmp /var/tmp /run, /etc files read-only', () => {
  const spec = buildSpec(input({ readOnly: true }));
  assert.equal(spec.root, { path: '/store/c/merged', readonly: true });
  for (const dir of ['/tmp', '/var/tmp', '/run']) {
    assert.equal(mount(spec, dir), { destination: dir, type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'] });
  }
  for (const file of ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf']) {
    assert.equal(mount(spec, file)!.options, ['bind', 'rprivate', 'ro', 'nosuid', 'noexec', 'nodev']);
  }
  const plain = buildSpec(input({ readOnly: true, readOnlyTmpfs: false }));
  assert.not.ok(mount(plain, '/tmp') || mount(plain, '/run') || mount(plain, '/var/tmp'));
});

test('--tmpfs as Podman passes it; one over a default mount replaces it; --shm-size', () => {
  const spec = buildSpec(input({ tmpfs: [parseTmpfs('/run:rw,size=64m,mode=1777'), parseTmpfs('/dev/shm:size=1g')], shmSize: 1024 }));
  assert.equal(mount(spec, '/run'), { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'size=64m', 'mode=1777', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'] });
  assert.equal(mount(spec, '/dev/shm')!.options, ['rw', 'size=1g', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup']);
  assert.is(destinations(spec).filter((d) => d === '/dev/shm').length, 1);
  assert.equal(mount(buildSpec(input({ shmSize: 1024 })), '/dev/shm')!.options.at(-1), 'size=1024');
});

test('--init (Podman 4.3.1): the init program bind-mounted read-only and put in front of the command', () => {
  const spec = buildSpec(input({ init: { path: '/usr/bin/catatonit' } }));
  assert.equal(spec.process.args, ['/run/podman-init', '--', 'sh', '-c', 'id']);
  assert.equal(mount(spec, '/run/podman-init'), { destination: '/run/podman-init', type: 'bind', source: '/usr/bin/catatonit', options: ['bind', 'ro', 'rprivate'] });
});

test('a non-root user (Podman): bounding set only, --cap-add ones effective and ambient; groups and umask', () => {
  const user = resolveUser('1000:1000', PASSWD, GROUP);
  const spec = buildSpec(input({ user, capabilities: [...DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN'], capAdd: ['net_admin'] }));
  assert.equal(spec.process.user, { uid: 1000, gid: 1000, umask: 18, additionalGids: [1000] });
  assert.equal(spec.process.capabilities.bounding, [...DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN'].sort());
  for (const set of ['effective', 'permitted', 'inheritable', 'ambient'] as const) assert.equal(spec.process.capabilities[set], ['CAP_NET_ADMIN'], set);
  const none = buildSpec(input({ user }));
  assert.equal(none.process.capabilities.effective, []);
  assert.equal(none.process.capabilities.ambient, []);
  const all = buildSpec(input({ user, capAdd: ['ALL'] }));
  assert.equal(all.process.capabilities.ambient, [...DEFAULT_CAPABILITIES].sort());
});

test('capabilities outside this host\'s bounding set are left out (Podman does the same)', () => {
  const spec = buildSpec(input({ capabilities: [...DEFAULT_CAPABILITIES, 'CAP_SYS_RESOURCE'], host: USER_HOST }));
  assert.not.ok(spec.process.capabilities.bounding.includes('CAP_SYS_RESOURCE'));
  const privileged = buildSpec(input({ privileged: true, capabilities: ALL_CAPABILITIES, host: USER_HOST }));
  assert.equal(privileged.process.capabilities.effective, [...USER_HOST.boundingCapabilities].sort());
});

test('--privileged: everything visible and writable, all devices allowed', () => {
  const spec = buildSpec(input({ privileged: true, capabilities: ALL_CAPABILITIES }));
  assert.is(spec.linux.maskedPaths, undefined);
  assert.is(spec.linux.readonlyPaths, undefined);
  assert.equal(spec.linux.resources!.devices, [{ allow: true, access: 'rwm' }]);
  assert.ok(mount(spec, '/sys')!.options.includes('rw'));
  assert.ok(mount(spec, '/sys/fs/cgroup')!.options.includes('rw'));
  assert.ok(spec.linux.devices!.some((d) => d.path === '/dev/null' && d.major === 1 && d.minor === 3), 'host devices listed');
  assert.equal(spec.process.capabilities.bounding.length, ALL_CAPABILITIES.length);
});

test('rlimits: Podman\'s nofile default, user limits, clamping where limits cannot be raised, unlimited', () => {
  assert.equal(buildSpec(input({ host: { ...ROOT_HOST, nrOpen: 65536 } })).process.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 65536, soft: 65536 }]);
  assert.equal(buildSpec(input({ rootless: true, host: USER_HOST })).process.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 }]);
  const ulimits = [parseUlimit('nofile=1024:2048'), parseUlimit('nproc=-1'), parseUlimit('core=-1'), parseUlimit('memlock=-1:-1')];
  assert.equal(buildSpec(input({ ulimits })).process.rlimits, [
    { type: 'RLIMIT_NOFILE', hard: 2048, soft: 1024 },
    { type: 'RLIMIT_NPROC', hard: UNLIMITED, soft: UNLIMITED },
    { type: 'RLIMIT_CORE', hard: UNLIMITED, soft: UNLIMITED },
    { type: 'RLIMIT_MEMLOCK', hard: UNLIMITED, soft: UNLIMITED },
  ]);
  // Without CAP_SYS_RESOURCE: lowered to this process's hard limits (unknown ones kept).
  assert.equal(buildSpec(input({ ulimits: [...ulimits, parseUlimit('nofile=30000:40000')], host: USER_HOST })).process.rlimits, [
    { type: 'RLIMIT_NOFILE', hard: 20000, soft: 20000 },
    { type: 'RLIMIT_NPROC', hard: 3000, soft: 3000 },
    { type: 'RLIMIT_CORE', hard: UNLIMITED, soft: UNLIMITED },
    { type: 'RLIMIT_MEMLOCK', hard: UNLIMITED, soft: UNLIMITED },
  ]);
});

test('serializeSpec writes 2^64-1 exactly and otherwise plain JSON', () => {
  const spec = buildSpec(input({ ulimits: [parseUlimit('nproc=-1')], annotations: { note: '"18446744073709551615"', n: 'x' } }));
  const text = serializeSpec(spec);
  assert.match(text, /"type": "RLIMIT_NPROC",\n\s+"hard": 18446744073709551615,\n\s+"soft": 18446744073709551615/);
  const parsed = JSON.parse(text);
  assert.equal(parsed.annotations, { note: '"18446744073709551615"', n: 'x' });
  assert.equal(parsed.process.rlimits[0], { type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1048576 });
  assert.is(parsed.mounts.length, spec.mounts.length);
});

test('terminal, no-new-privileges, env, cwd, hostname and annotations are passed as given', () => {
  const spec = buildSpec(input({ terminal: true, noNewPrivileges: true, env: ['A=1'], cwd: '/work', hostname: 'h', annotations: { a: 'b' } }));
  assert.is(spec.process.terminal, true);
  assert.is(spec.process.noNewPrivileges, true);
  assert.equal(spec.process.env, ['A=1']);
  assert.is(spec.process.cwd, '/work');
  assert.is(spec.hostname, 'h');
  assert.equal(spec.annotations, { a: 'b' });
});

/* ------------------------------------------------------------------ ENTRYPOINT and CMD */

test('resolveCommand: Docker\'s ENTRYPOINT + CMD rules', () => {
  const image = { Entrypoint: ['/entry.sh', '-x'], Cmd: ['serve', '--port=80'] };
  assert.equal(resolveCommand(image, { command: [] }), ['/entry.sh', '-x', 'serve', '--port=80']);
  assert.equal(resolveCommand(image, { command: ['debug'] }), ['/entry.sh', '-x', 'debug']);
  // --entrypoint replaces the image's and drops its CMD
  assert.equal(resolveCommand(image, { entrypoint: '/bin/sh', command: [] }), ['/bin/sh']);
  assert.equal(resolveCommand(image, { entrypoint: '/bin/sh', command: ['-c', 'ls'] }), ['/bin/sh', '-c', 'ls']);
  assert.equal(resolveCommand(image, { entrypoint: '', command: ['ls', '-l'] }), ['ls', '-l']);
  assert.equal(resolveCommand({ Cmd: ['sh'] }, { command: [] }), ['sh']);
  assert.equal(resolveCommand({ Cmd: ['sh'], Entrypoint: null }, { command: ['echo', 'hi'] }), ['echo', 'hi']);
  assert.equal(resolveCommand({ Entrypoint: [''], Cmd: ['sh'] }, { command: [] }), ['sh']);
  assert.equal(resolveCommand({ Entrypoint: ['a b'] }, { command: [] }), ['a b']);
});

test('resolveCommand: nothing to run is a one-line error, exit 125', () => {
  const cases: [ImageCommand, CommandOptions][] = [
    [{}, { command: [] }],
    [{ Cmd: null, Entrypoint: null }, { command: [] }],
    [{ Cmd: ['sh'] }, { entrypoint: '', command: [] }],
  ];
  for (const [image, opts] of cases) {
    try {
      resolveCommand(image, opts);
      assert.unreachable('should throw');
    } catch (e) {
      assert.instance(e, TspodError);
      assert.is((e as TspodError).exitCode, 125);
      assert.match((e as TspodError).line, /^no command specified: /);
    }
  }
});

/* ------------------------------------------------------------------ USER */

const RICH_PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  '# a comment',
  'app:x:1000:1000:app:/home/app:/bin/sh',
  'nogrp:x:1001:2000::/home/nogrp:/bin/sh',
  'nohome:x:1002:1002::',
  'broken:x:notanumber:0::/:/bin/sh',
  'nobody:x:65534:65534:nobody:/nonexistent:/bin/false',
  '',
].join('\n');
const RICH_GROUP = ['root:x:0:', 'wheel:x:10:root,app', 'staff:x:50:app', 'app:x:1000:', 'nogroup:x:65534:', ''].join('\n');

test('resolveUser: what Podman 4.3.1 + runc gave for each -u on an image with these files', () => {
  // [ -u, uid, gid, groups as `id` showed them, HOME ]
  const cases: [string | undefined, number, number, number[], string][] = [
    [undefined, 0, 0, [10], '/root'],
    ['', 0, 0, [10], '/root'],
    ['root', 0, 0, [0, 10], '/root'],
    ['0', 0, 0, [0, 10], '/root'],
    ['app', 1000, 1000, [1000, 10, 50], '/home/app'],
    ['1000', 1000, 1000, [1000, 10, 50], '/home/app'],
    ['1000:1000', 1000, 1000, [1000], '/home/app'],
    ['app:staff', 1000, 50, [50], '/home/app'],
    ['app:50', 1000, 50, [50], '/home/app'],
    ['nogrp', 1001, 2000, [2000], '/home/nogrp'],
    ['1001', 1001, 2000, [2000], '/home/nogrp'],
    ['0:0', 0, 0, [0], '/root'],
    ['root:wheel', 0, 10, [10], '/root'],
    ['1000:', 1000, 1000, [1000], '/home/app'],
    ['app:', 1000, 1000, [1000], '/home/app'],
    [':1000', 0, 1000, [1000], '/root'],
    ['4242', 4242, 0, [0], '/'],
    ['4242:4242', 4242, 4242, [4242], '/'],
    ['app:4242', 1000, 4242, [4242], '/home/app'],
  ];
  for (const [spec, uid, gid, groups, home] of cases) {
    const user = resolveUser(spec, RICH_PASSWD, RICH_GROUP);
    assert.equal({ uid: user.uid, gid: user.gid, home: user.home }, { uid, gid, home }, String(spec));
    assert.equal([...user.additionalGids].sort((a, b) => a - b), [...groups].sort((a, b) => a - b), `groups of ${spec}`);
  }
  // the primary group first, as Podman lists it
  assert.equal(resolveUser('app', RICH_PASSWD, RICH_GROUP).additionalGids, [1000, 10, 50]);
  assert.is(resolveUser('app', RICH_PASSWD, RICH_GROUP).name, 'app');
  assert.is(resolveUser('4242', RICH_PASSWD, RICH_GROUP).name, undefined);
  // Podman shows HOME= for an entry without one; tspod gives / instead of an empty HOME.
  assert.is(resolveUser('nohome', RICH_PASSWD, RICH_GROUP).home, '/');
});

test('resolveUser: no passwd or group file at all', () => {
  assert.equal(resolveUser(undefined, '', ''), { uid: 0, gid: 0, additionalGids: [], home: '/' });
  assert.equal(resolveUser('1000:1000', '', ''), { uid: 1000, gid: 1000, additionalGids: [1000], home: '/' });
});

test('resolveUser: unknown names and bad ids are Docker\'s one-line errors, exit 125', () => {
  for (const [spec, message] of [
    ['bob', 'unable to find user bob: no matching entries in passwd file'],
    ['  app', 'unable to find user   app: no matching entries in passwd file'],
    ['broken', 'unable to find user broken: no matching entries in passwd file'],
    ['app:nosuch', 'unable to find group nosuch: no matching entries in group file'],
    ['-1', 'invalid user or group id -1: uids and gids must be in range 0-2147483647'],
    ['0:2147483648', 'invalid user or group id 2147483648: uids and gids must be in range 0-2147483647'],
  ]) {
    try {
      resolveUser(spec, RICH_PASSWD, RICH_GROUP);
      assert.unreachable(spec);
    } catch (e) {
      assert.instance(e, TspodError, String(e));
      assert.is((e as TspodError).line, message);
      assert.is((e as TspodError).exitCode, 125);
    }
  }
});

test.run();
