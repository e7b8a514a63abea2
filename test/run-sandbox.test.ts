/**
 * `tspod run` flags that shape the sandbox, end to end with busybox: --init (catatonit as PID 1,
 * signals forwarded), --read-only and --tmpfs, capabilities (--cap-add/--cap-drop, a non-root
 * user's), --privileged as far as the user namespace allows, no-new-privileges, --ulimit, and the
 * network modes (none, host, the default one reaching the host's loopback through 10.0.2.2).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { alive } from './harness/bundle.js';
import { assertEmpty, lines, pausePid, startRunEnv, type RunEnv } from './harness/run-env.js';
import { assertOk } from './harness/store-checks.js';
import { findExecutable } from '../src/namespaces/helpers.js';
import { ALL_CAPABILITIES } from '../src/core/run-options.js';

const test = suite('run-sandbox');

let env: RunEnv;

test.before(async () => {
  env = await startRunEnv();
});

test.after(async () => {
  if (!env) return;
  const ids = (await env.tspod(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  if (ids.length) await env.tspod(['rm', '-f', ...ids]);
  assertEmpty(env.store);
  const pause = pausePid(env.store);
  await env.stop();
  assert.not.ok(alive(pause), 'the pause process is gone');
});

async function runLines(args: string[]): Promise<string[]> {
  return lines(await env.tspod(['run', '--rm', ...args]), `run ${args.join(' ')}`);
}

/** A capability mask as /proc/PID/status prints it. */
function mask(caps: string[]): string {
  const bits = caps.reduce((m, c) => m | (1n << BigInt(ALL_CAPABILITIES.indexOf(c))), 0n);
  return bits.toString(16).padStart(16, '0');
}

/** What this process may hand on: no container gets more than its bounding set. */
function hostBounding(): bigint {
  return BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
}

const capEff = (out: string[]) => out.find((l) => l.startsWith('CapEff:'))!.split(/\s+/)[1];

test('--init: catatonit is PID 1 and the command its child; without it the command is PID 1', async () => {
  const catatonit = findExecutable('catatonit');
  assert.ok(catatonit, 'catatonit is installed');
  const md5 = createHash('md5').update(readFileSync(catatonit)).digest('hex');
  const [withInit, without] = await Promise.all([
    runLines(['--init', 'busybox', 'sh', '-c', 'ps -o pid,args; md5sum /proc/1/exe']),
    // `; true`: a shell would exec a lone command in its place.
    runLines(['busybox', 'sh', '-c', 'ps -o pid,args; true']),
  ]);
  assert.match(withInit[1]!, /^\s*1 \/run\/podman-init -- sh -c ps -o pid,args; md5sum \/proc\/1\/exe$/);
  assert.ok(withInit.some((l) => /^\s*\d+ sh -c ps/.test(l) && !/^\s*1 /.test(l)), withInit.join('\n'));
  assert.is(withInit.at(-1), `${md5}  /proc/1/exe`);
  assert.match(without[1]!, /^\s*1 sh -c ps -o pid,args; true$/);
});

test('--init forwards the signals tspod relays: SIGTERM to a foreground run reaches the shell behind catatonit', async () => {
  const child = env.spawnTspod(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.1; done']);
  let out = '';
  child.stderr!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await Promise.race([new Promise<void>((resolve) => child.stdout!.on('data', (d) => ((out += d), out.includes('ready') && resolve()))), exited]);
  assert.is(out, 'ready\n');
  child.kill('SIGTERM');
  assert.is(await exited, 7);
  assert.is(out, 'ready\ngot TERM\n');
});

test('--read-only: writes to / and the /etc files fail, /tmp stays writable; --tmpfs mounts are writable, with options', async () => {
  const [readOnly, writable] = await Promise.all([
    env.tspod(['run', '--rm', '--read-only', '--tmpfs', '/data', '--tmpfs', '/cache:size=1m,mode=1777', 'busybox', 'sh', '-c',
      'touch /x; echo "root $?"; echo h > /etc/hostname; echo "etc $?"; touch /tmp/t /data/d /cache/c && echo "tmpfs ok"; ' +
      'grep -E " /(data|cache) " /proc/mounts | cut -d" " -f1-3; stat -c %a /cache; df -k /cache | tail -1 | tr -s " " | cut -d" " -f2']),
    runLines(['busybox', 'sh', '-c', 'touch /x && echo "root ok"']),
  ]);
  assertOk(readOnly, 'run --read-only');
  assert.equal(readOnly.stdout.trimEnd().split('\n'), ['root 1', 'etc 1', 'tmpfs ok', 'tmpfs /data tmpfs', 'tmpfs /cache tmpfs', '1777', '1024']);
  assert.match(readOnly.stderr, /touch: \/x: Read-only file system/);
  assert.match(readOnly.stderr, /can't create \/etc\/hostname: Read-only file system/);
  assert.equal(writable, ['root ok']);
});

test('capabilities: the default set, --cap-add/--cap-drop (and their effect), ALL, a non-root user gets only the added ones', async () => {
  const status = ['grep', 'Cap', '/proc/self/status'];
  const [defaults, changed, chownDefault, chownDropped, none, all, user] = await Promise.all([
    runLines(['busybox', ...status]),
    runLines(['--cap-add', 'net_admin', '--cap-drop', 'CAP_CHOWN', 'busybox', ...status]),
    runLines(['busybox', 'sh', '-c', 'touch /f && chown 1000 /f && echo chown ok']),
    env.tspod(['run', '--rm', '--cap-drop', 'chown', 'busybox', 'sh', '-c', 'touch /f && chown 1000 /f && echo chown ok']),
    runLines(['--cap-drop', 'ALL', 'busybox', ...status]),
    runLines(['--cap-add', 'ALL', 'busybox', ...status]),
    runLines(['-u', 'app', '--cap-add', 'NET_ADMIN', 'busybox', ...status]),
  ]);
  // containers.conf's default_capabilities: what Podman's containers get (00000000800405fb).
  const defaultCaps = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT'];
  assert.is(capEff(defaults), '00000000800405fb');
  assert.is(capEff(defaults), mask(defaultCaps));
  assert.is(capEff(changed), mask([...defaultCaps.filter((c) => c !== 'CAP_CHOWN'), 'CAP_NET_ADMIN']));
  assert.equal(chownDefault, ['chown ok']);
  assert.is(chownDropped.code, 1);
  assert.match(chownDropped.stderr, /chown: \/f: Operation not permitted/);
  assert.is(capEff(none), '0000000000000000');
  const everything = (BigInt(`0x${mask(ALL_CAPABILITIES)}`) & hostBounding()).toString(16).padStart(16, '0');
  assert.is(capEff(all), everything);
  assert.is(capEff(user), mask(['CAP_NET_ADMIN']));
  assert.ok(user.includes(`CapAmb:\t${mask(['CAP_NET_ADMIN'])}`), user.join('\n'));
});

test('--privileged: every capability this host allows, /proc/sys writable, host devices; no-new-privileges; --ulimit', async () => {
  const script = ['sh', '-c', 'grep CapEff /proc/self/status; grep -c " /proc/sys " /proc/self/mountinfo; ls /dev/net/tun; grep NoNewPrivs /proc/self/status'];
  const [privileged, plain, nnp, ulimit] = await Promise.all([
    env.tspod(['run', '--rm', '--privileged', 'busybox', ...script]),
    env.tspod(['run', '--rm', 'busybox', ...script]),
    runLines(['--security-opt', 'no-new-privileges', 'busybox', 'grep', 'NoNewPrivs', '/proc/self/status']),
    runLines(['--ulimit', 'nofile=1024:2048', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn']),
  ]);
  const everything = (BigInt(`0x${mask(ALL_CAPABILITIES)}`) & hostBounding()).toString(16).padStart(16, '0');
  // /proc/sys is a read-only mount of its own, unless privileged; host devices only when privileged.
  assert.equal(privileged.stdout.split('\n').filter(Boolean), [`CapEff:\t${everything}`, '0', '/dev/net/tun', 'NoNewPrivs:\t0'], privileged.stderr);
  assert.equal(plain.stdout.split('\n').filter(Boolean), ['CapEff:\t00000000800405fb', '1', 'NoNewPrivs:\t0']);
  assert.match(plain.stderr, /\/dev\/net\/tun: No such file or directory/);
  assert.equal(nnp, ['NoNewPrivs:\t1']);
  assert.equal(ulimit, ['1024', '2048']);
});

/** Network interface names in /proc/net/dev text. */
const interfaces = (text: string) =>
  text
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0]!.trim())
    .filter(Boolean)
    .sort();

test('--network none: only lo; --network host: the host\'s interfaces; the default network reaches a server on the host\'s 127.0.0.1 via 10.0.2.2', async () => {
  const server = net.createServer((socket) => socket.end('hello from the host\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  try {
    const [none, host, slirp] = await Promise.all([
      env.tspod(['run', '--rm', '--network', 'none', 'busybox', 'cat', '/proc/net/dev']),
      env.tspod(['run', '--rm', '--network', 'host', 'busybox', 'cat', '/proc/net/dev']),
      runLines(['busybox', 'sh', '-c', `ip -o -4 addr show scope global | tr -s " " | cut -d" " -f2,4; nc 10.0.2.2 ${port} </dev/null`]),
    ]);
    assertOk(none, '--network none');
    assertOk(host, '--network host');
    assert.equal(interfaces(none.stdout), ['lo']);
    assert.equal(interfaces(host.stdout), interfaces(readFileSync('/proc/net/dev', 'utf8')));
    assert.equal(slirp, ['tap0 10.0.2.100/24', 'hello from the host']);
  } finally {
    server.close();
  }
});

test.run();
