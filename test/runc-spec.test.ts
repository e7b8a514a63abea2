/**
 * buildSpec's config.json run for real by runc on a busybox rootfs (a plain directory: the
 * overlay is not this module's business). As root runc runs directly; as the unprivileged user
 * it runs inside the pause process's user namespace, exactly as tspod runs it. The suite runs
 * this file both ways.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveCommand } from '../src/core/container-command.js';
import { resolveUser } from '../src/core/container-user.js';
import { buildSpec, readHostFacts, serializeSpec, type SpecInput } from '../src/core/oci-spec.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, mergeEnv, parseCapabilities, parseTmpfs, parseUlimit } from '../src/core/run-options.js';
import { findExecutable } from '../src/namespaces/helpers.js';
import { findRuntime } from '../src/namespaces/runtime.js';
import { joinUserNamespace, stopUserNamespace, type NamespaceContext } from '../src/namespaces/userns.js';
import { TINY_GROUP, TINY_PASSWD, tinyTar } from './fixtures/images.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tspod-runc-spec-'));
const runroot = path.join(tmp, 'runroot');
const rootfs = path.join(tmp, 'rootfs');
const state = path.join(tmp, 'state');
const host = readHostFacts();
let ns: NamespaceContext;
let runc: string;
let runs = 0;

const etcFiles = {
  hosts: path.join(tmp, 'hosts'),
  hostname: path.join(tmp, 'hostname'),
  resolvConf: path.join(tmp, 'resolv.conf'),
};

test.before(async () => {
  ns = await joinUserNamespace({ runroot });
  runc = (await findRuntime('runc')).path;
  const tarFile = path.join(tmp, 'tiny.tar');
  writeFileSync(tarFile, await tinyTar());
  mkdirSync(rootfs);
  mkdirSync(state);
  // Extracted inside the namespace, so that owners (home/app is 1000) are the image's own.
  const tar = inNamespace(['tar', '-xf', tarFile, '-C', rootfs]);
  assert.is(tar.status, 0, tar.stderr);
  writeFileSync(etcFiles.hosts, '127.0.0.1\tlocalhost\n::1\tlocalhost\n10.9.8.7\ttspod-test\n');
  writeFileSync(etcFiles.hostname, 'tspod-test\n');
  writeFileSync(etcFiles.resolvConf, 'nameserver 127.0.0.53\n');
});

test.after(async () => {
  // Owned by mapped ids when rootless: only the namespace can remove them.
  if (ns) inNamespace(['rm', '-rf', rootfs]);
  await stopUserNamespace({ runroot });
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs argv where tspod runs the runtime: in the user + mount namespace when rootless. */
function inNamespace(argv: string[]): Run {
  const wrapped = ns.wrap(argv);
  const result = spawnSync(wrapped[0], wrapped.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function input(overrides: Partial<SpecInput> = {}): SpecInput {
  return {
    rootfs,
    readOnly: false,
    args: ['id'],
    env: mergeEnv(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ['FOO=bar baz'], { hostname: 'tspod-test', home: '/root' }),
    cwd: '/',
    user: resolveUser('', TINY_PASSWD, TINY_GROUP),
    terminal: false,
    hostname: 'tspod-test',
    capabilities: DEFAULT_CAPABILITIES,
    privileged: false,
    noNewPrivileges: false,
    ulimits: [],
    tmpfs: [],
    network: 'none',
    etcFiles,
    rootless: ns.rootless,
    uidMappings: ns.uidMappings,
    gidMappings: ns.gidMappings,
    ...overrides,
  };
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the container to its end with `runc run` (as tspod's runtime would, minus conmon). */
function run(spec: SpecInput): Run {
  const id = `tspod-spec-${process.pid}-${runs++}`;
  const bundle = path.join(tmp, id);
  mkdirSync(bundle);
  writeFileSync(path.join(bundle, 'config.json'), serializeSpec(buildSpec(spec)));
  try {
    return inNamespace([runc, '--root', state, 'run', '--bundle', bundle, id]);
  } finally {
    inNamespace([runc, '--root', state, 'delete', '--force', id]);
    rmSync(bundle, { recursive: true, force: true });
  }
}

function sh(script: string, overrides: Partial<SpecInput> = {}): Run {
  return run(input({ args: ['sh', '-c', script], ...overrides }));
}

/** Runs a script that must succeed; returns its stdout. */
function ok(script: string, overrides: Partial<SpecInput> = {}): string {
  const result = sh(script, overrides);
  assert.is(result.status, 0, `exit ${result.status}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** The CapXxx mask the kernel shows for a set of capability names. */
function capMask(caps: string[]): string {
  const bits = caps.reduce((mask, c) => mask | (1n << BigInt(ALL_CAPABILITIES.indexOf(c))), 0n);
  return bits.toString(16).padStart(16, '0');
}

function statusField(out: string, field: string): string {
  return new RegExp(`^${field}:\\s*(\\S+)`, 'm').exec(out)?.[1] ?? `(no ${field})`;
}

test('default container: root with Podman default caps, hostname, env, /etc files, nofile, no new privileges off', () => {
  const out = ok(
    'id; hostname; echo "FOO=$FOO HOME=$HOME HOSTNAME=$HOSTNAME"; cat /etc/hostname /etc/resolv.conf; grep tspod-test /etc/hosts; ulimit -Hn; grep -E "^(Cap|NoNewPrivs)" /proc/self/status',
  );
  const lines = out.split('\n');
  assert.is(lines[0], 'uid=0(root) gid=0(root)');
  assert.is(lines[1], 'tspod-test');
  assert.is(lines[2], 'FOO=bar baz HOME=/root HOSTNAME=tspod-test');
  assert.is(lines[3], 'tspod-test');
  assert.is(lines[4], 'nameserver 127.0.0.53');
  assert.is(lines[5], '10.9.8.7\ttspod-test');
  // RLIMIT_NOFILE: Podman's 1048576, or the most this host lets us have.
  const nofile = Number(host.limits.RLIMIT_NOFILE.hard);
  assert.is(lines[6], String(host.canRaiseLimits ? Math.min(1048576, host.nrOpen) : Math.min(1048576, host.nrOpen, nofile)));
  const expected = capMask(DEFAULT_CAPABILITIES.filter((c) => host.boundingCapabilities.includes(c)));
  assert.is(statusField(out, 'CapEff'), expected);
  assert.is(statusField(out, 'CapPrm'), expected);
  assert.is(statusField(out, 'CapBnd'), expected);
  assert.is(statusField(out, 'CapInh'), '0000000000000000');
  assert.is(statusField(out, 'CapAmb'), '0000000000000000');
  assert.is(statusField(out, 'NoNewPrivs'), '0');
});

test('-u 1000:1000: the ids, groups and home from the image, no effective capabilities', () => {
  const user = resolveUser('1000:1000', TINY_PASSWD, TINY_GROUP);
  const out = ok('id; echo $HOME; grep -E "^Cap(Eff|Bnd)" /proc/self/status', {
    user,
    env: mergeEnv([], [], { home: user.home }),
  });
  assert.ok(out.startsWith('uid=1000(app) gid=1000(app) groups=1000(app)\n/home/app\n'), out);
  assert.is(statusField(out, 'CapEff'), '0000000000000000');
  assert.is(statusField(out, 'CapBnd'), capMask(DEFAULT_CAPABILITIES.filter((c) => host.boundingCapabilities.includes(c))));
});

test('cwd, arguments as given, and the exit code passes through', () => {
  const result = run(input({ args: resolveCommand({ Entrypoint: ['sh', '-c'] }, { command: ['pwd; echo "$0"; exit 3', 'a b'] }), cwd: '/home/app' }));
  assert.is(result.stdout, '/home/app\na b\n');
  assert.is(result.status, 3);
});

// /proc/kcore is masked too, but this kernel has none; /proc/keys and /sys/firmware (not empty on the host) are checked.
test('masked and read-only kernel paths', () => {
  const out = ok(
    'stat -c "%F %t:%T" /proc/keys; ls -A /sys/firmware | wc -l; { echo x > /proc/sys/kernel/domainname; } 2>&1 || echo refused; awk \'$5 == "/proc/sys" { print $6 }\' /proc/self/mountinfo',
  );
  const lines = out.split('\n');
  assert.is(lines[0], 'character special file 1:3');
  assert.is(lines[1].trim(), '0');
  assert.match(lines[2], /Read-only file system/);
  assert.is(lines[3], 'refused');
  assert.match(lines[4], /^ro,/);
});

test('--cap-add and --cap-drop change the capability set and what root can do', () => {
  const capabilities = parseCapabilities(['net_admin'], ['CAP_CHOWN'], DEFAULT_CAPABILITIES);
  const out = ok('grep CapEff /proc/self/status; ip addr add 10.1.1.1/24 dev lo && echo addr-added; touch /tmp/f; chown 1000 /tmp/f 2>/dev/null || echo chown-refused', {
    capabilities,
  });
  assert.is(statusField(out, 'CapEff'), capMask(capabilities.filter((c) => host.boundingCapabilities.includes(c))));
  assert.match(out, /^addr-added$/m);
  assert.match(out, /^chown-refused$/m);
  // and without them: no NET_ADMIN, CHOWN works
  const plain = ok('ip addr add 10.1.1.1/24 dev lo 2>/dev/null || echo ip-refused; touch /tmp/g; chown 1000 /tmp/g && echo chowned; rm -f /tmp/f /tmp/g');
  assert.match(plain, /^ip-refused$/m);
  assert.match(plain, /^chowned$/m);
});

test('a non-root user gets its --cap-add capabilities as ambient ones', () => {
  const capabilities = parseCapabilities(['NET_ADMIN'], [], DEFAULT_CAPABILITIES);
  const out = ok('grep -E "^Cap(Eff|Amb)" /proc/self/status; ip addr add 10.1.1.1/24 dev lo && echo addr-added', {
    user: resolveUser('1000', TINY_PASSWD, TINY_GROUP),
    capabilities,
    capAdd: ['NET_ADMIN'],
  });
  assert.is(statusField(out, 'CapEff'), capMask(['CAP_NET_ADMIN']));
  assert.is(statusField(out, 'CapAmb'), capMask(['CAP_NET_ADMIN']));
  assert.match(out, /^addr-added$/m);
});

test('--read-only: the rootfs refuses writes; /tmp, /run and /var/tmp are tmpfs; /etc files read-only', () => {
  const out = ok('touch /newfile 2>&1 || echo rootfs-refused; touch /tmp/a /run/b /var/tmp/c && echo tmp-ok; echo x >> /etc/hosts 2>&1 || echo hosts-refused', {
    readOnly: true,
  });
  assert.match(out, /Read-only file system/);
  assert.match(out, /^rootfs-refused$/m);
  assert.match(out, /^tmp-ok$/m);
  assert.match(out, /^hosts-refused$/m);
  assert.not.ok(readdirSync(rootfs).includes('newfile'));
  assert.is(readFileSync(etcFiles.hosts, 'utf8').split('\n').length, 4);
});

test('--tmpfs with size and mode, and /dev, /dev/shm, /dev/pts, /dev/mqueue', () => {
  const out = ok(
    'grep -E " /(data|dev|dev/shm|dev/pts|dev/mqueue) " /proc/mounts; stat -c "%a" /data; echo x > /dev/null && head -c 5 /dev/zero | wc -c; head -c 3 /dev/urandom | wc -c; test -c /dev/full && test -c /dev/tty && test -c /dev/random && echo nodes',
    { tmpfs: [parseTmpfs('/data:size=1m,mode=1770')] },
  );
  assert.match(out, /^tmpfs \/data tmpfs rw,nosuid,nodev,.*size=1024k,mode=1770/m);
  assert.match(out, /^tmpfs \/dev tmpfs /m);
  assert.match(out, /^shm \/dev\/shm tmpfs rw,nosuid,nodev,noexec,.*size=65536k/m);
  assert.match(out, /^devpts \/dev\/pts devpts .*mode=620,ptmxmode=666/m);
  assert.match(out, /^mqueue \/dev\/mqueue mqueue /m);
  assert.match(out, /^1770$/m);
  assert.match(out, /^5\n3\nnodes$/m);
});

test('ulimits: nofile and nproc applied; one above what this host allows is lowered, not refused', () => {
  const out = ok('ulimit -Sn; ulimit -Hn; ulimit -Hu', { ulimits: [parseUlimit('nofile=1024:2048'), parseUlimit('nproc=-1')] });
  const nproc = host.limits.RLIMIT_NPROC.hard;
  assert.is(out, `1024\n2048\n${host.canRaiseLimits || nproc === 2n ** 64n - 1n ? 'unlimited' : nproc}\n`);
  const hard = Number(host.limits.RLIMIT_NOFILE.hard);
  const above = ok('ulimit -Hn', { ulimits: [parseUlimit(`nofile=${hard - 10}:${hard + 1000}`)] });
  assert.is(above, `${host.canRaiseLimits ? Math.min(hard + 1000, host.nrOpen) : hard}\n`);
});

test('--security-opt no-new-privileges sets the flag', () => {
  assert.is(statusField(ok('grep NoNewPrivs /proc/self/status', { noNewPrivileges: true }), 'NoNewPrivs'), '1');
});

test('--init: catatonit is process 1 and the command its child', () => {
  const catatonit = findExecutable('catatonit');
  assert.ok(catatonit, 'catatonit is installed on these machines');
  const out = ok('tr "\\0" " " < /proc/1/cmdline; echo; echo $$', { init: { path: catatonit } });
  const [cmdline, pid] = out.split('\n');
  assert.is(cmdline, '/run/podman-init -- sh -c tr "\\0" " " < /proc/1/cmdline; echo; echo $$ ');
  assert.is.not(pid, '1');
  assert.is(sh('exit 7', { init: { path: catatonit } }).status, 7);
  // Not process 1 any more, the shell can be killed by a signal: 128 + 15.
  assert.is(sh('kill -TERM $$', { init: { path: catatonit } }).status, 143);
});

test('network none has only lo (sysfs of its own namespace); network host sees the host interfaces', () => {
  assert.is(ok('ls /sys/class/net'), 'lo\n');
  const hostNet = readdirSync('/sys/class/net').sort().join('\n');
  assert.is(ok('ls /sys/class/net', { network: 'host' }).trim(), hostNet);
});

test('--privileged: the whole bounding set, nothing masked, host devices', () => {
  const out = ok('grep CapEff /proc/self/status; stat -c "%F" /proc/keys; test -e /dev/loop-control && echo loop-control', {
    privileged: true,
    capabilities: ALL_CAPABILITIES,
  });
  assert.is(statusField(out, 'CapEff'), capMask(host.boundingCapabilities));
  assert.match(out, /^regular( empty)? file$/m);
  assert.match(out, /^loop-control$/m);
});

/** runc 1.1 reports these at create time, exit 1, one line on stderr; tspod maps them to 127 and 126. */
test('what runc says when the command cannot run', () => {
  const cases: [string, string][] = [
    ['/no/such/program', 'exec: "/no/such/program": stat /no/such/program: no such file or directory'],
    ['nosuchprogram', 'exec: "nosuchprogram": executable file not found in $PATH'],
    ['/etc/passwd', 'exec: "/etc/passwd": permission denied'],
    ['/tmp', 'exec: "/tmp": permission denied'],
  ];
  for (const [command, message] of cases) {
    const result = run(input({ args: [command] }));
    assert.is(result.status, 1, command);
    // logfmt: msg="..." with inner quotes escaped
    assert.ok(result.stderr.replaceAll('\\"', '"').includes(`unable to start container process: ${message}"`), result.stderr);
  }
});

test.run();
