/**
 * Container networks for real: a process in a new network namespace (made the way the runtime
 * makes a container's: inside the tspod namespace, so that rootless it belongs to the pause
 * user namespace) gets slirp4netns or pasta attached, and we look from inside: tap0's address,
 * the default route, a TCP connection through the gateway to a server on the host's 127.0.0.1.
 * Helpers must end with the container's process or with detachNetwork, leaving nothing behind.
 * As root, missing helpers and an unusable /dev/net/tun are staged in a private mount namespace
 * (for root and the test user), and the whole file is also run as the test user.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostnameFile, hostsFile, resolvConf } from '../src/core/etc-files.js';
import { TspodError } from '../src/core/errors.js';
import { findExecutable } from '../src/namespaces/helpers.js';
import { attachNetwork, detachNetwork, HELPER_PREFERENCE, PRIVATE_NETWORK, type NetworkHandle, type NetworkHelper } from '../src/namespaces/network.js';
import { joinUserNamespace, stopUserNamespace, type NamespaceContext } from '../src/namespaces/userns.js';
import { ensureTestUser, isRoot, runTestFileAsTestUser, TEST_USER } from './harness/unprivileged.js';

const DIST_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');
const execFileAsync = promisify(execFile);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tspod-network-'));
// As root, the staged children run as the test user too and must reach their scripts in here.
chmodSync(tmp, 0o755);
const runroot = path.join(tmp, 'runroot');
const TOKEN = `tspod-${process.pid}-${Date.now()}`;
let ns: NamespaceContext;
let server: net.Server;
let port: number;
/** the remote address of every connection the host-side server accepted */
const peers: string[] = [];
const holders: ChildProcess[] = [];
/** every handle attached, detached again at the end whatever a test left running */
const handles: NetworkHandle[] = [];
let runDirs = 0;

test.before(async () => {
  ns = await joinUserNamespace({ runroot });
  server = net.createServer((socket) => {
    peers.push(socket.remoteAddress ?? '');
    socket.end(TOKEN);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});

test.after(async () => {
  for (const holder of holders) holder.kill('SIGKILL');
  await Promise.all(handles.map(detachNetwork));
  server?.close();
  await stopUserNamespace({ runroot });
  rmSync(tmp, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function newRunDir(): string {
  return path.join(tmp, `container${runDirs++}`);
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition(); await sleep(20)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
  }
}

/** A stand-in for a created container: a process in a new network namespace inside ours. */
async function startContainer(): Promise<ChildProcess> {
  const argv = ns.wrap(['unshare', '--net', '--', 'sleep', '60']);
  const holder = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
  holders.push(holder);
  const own = readlinkSync('/proc/self/ns/net');
  await until(() => {
    try {
      return readlinkSync(`/proc/${holder.pid}/ns/net`) !== own;
    } catch {
      return false;
    }
  }, 'the container process has its network namespace');
  return holder;
}

async function stopContainer(holder: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => holder.once('exit', resolve));
  holder.kill('SIGKILL');
  await exited;
}

/** argv run inside the container's network namespace (and, rootless, the pause namespaces). */
async function inContainer(holder: ChildProcess, argv: string[]): Promise<string> {
  const full = ns.wrap(['nsenter', `--net=/proc/${holder.pid}/ns/net`, '--', ...argv]);
  const { stdout } = await execFileAsync(full[0], full.slice(1), { encoding: 'utf8', timeout: 10_000 });
  return stdout;
}

/** Whether pid runs (a zombie does not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Live processes with `pid` among their arguments (the helper, its watchers). */
function mentioning(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === pid) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.some((a) => a === String(pid) || a === `--pid=${pid}`) && alive(Number(entry))) found.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** From inside: the address, the route, lo, and the host's loopback server through the gateway. */
async function checkPrivateNetwork(holder: ChildProcess, handle: NetworkHandle): Promise<void> {
  assert.equal(
    { ip: handle.ip, gateway: handle.gateway, dns: handle.dns, mode: handle.mode },
    { ip: '10.0.2.100', gateway: '10.0.2.2', dns: '10.0.2.3', mode: 'private' },
  );
  assert.ok(handle.helperPid && alive(handle.helperPid), 'the helper runs');
  const addr = await inContainer(holder, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'tap0']);
  assert.match(addr, /inet 10\.0\.2\.100\/24 /);
  const link = await inContainer(holder, ['ip', '-o', 'link', 'show', 'dev', 'tap0']);
  assert.match(link, /\bmtu 65520\b/);
  assert.match(await inContainer(holder, ['ip', '-o', 'link', 'show', 'dev', 'lo']), /[<,]UP[,>]/);
  assert.match(await inContainer(holder, ['ip', 'route', 'show', 'default']), /^default via 10\.0\.2\.2 dev tap0\b/);
  const before = peers.length;
  const reply = await inContainer(holder, ['bash', '-c', `exec 3<>/dev/tcp/${handle.gateway}/${port} && cat <&3`]);
  assert.is(reply, TOKEN);
  assert.equal(peers.slice(before), ['127.0.0.1'], 'the connection arrived on the host loopback');
}

/**
 * Two containers with `helper` at once (the waits overlap): A is checked from inside and then
 * exits, which must end its helper and watcher by themselves; B's helper is ended by
 * detachNetwork while B still runs, and B's watcher must follow B.
 */
async function checkHelper(helper: NetworkHelper | undefined): Promise<void> {
  const [a, b] = await Promise.all([startContainer(), startContainer()]);
  const runDirA = newRunDir();
  const [handleA, handleB] = await Promise.all([
    attachNetwork(ns, a.pid!, { mode: 'private', runDir: runDirA, helper }),
    attachNetwork(ns, b.pid!, { mode: 'private', runDir: newRunDir(), helper }),
  ]);
  handles.push(handleA, handleB);
  assert.is(handleA.helper, helper ?? HELPER_PREFERENCE[0]);
  await checkPrivateNetwork(a, handleA);
  assert.ok(existsSync(path.join(runDirA, `${handleA.helper}.log`)), 'its log is in the run directory');

  await detachNetwork(handleB);
  assert.not.ok(alive(handleB.helperPid!), 'the helper is gone when detachNetwork returns');
  await detachNetwork(handleB);

  await Promise.all([stopContainer(a), stopContainer(b)]);
  await until(
    () => !alive(handleA.helperPid!) && mentioning(a.pid!).length === 0 && mentioning(b.pid!).length === 0,
    'the helpers and their watchers are gone',
  );
  await detachNetwork(handleA);
}

test(`private, default helper (${HELPER_PREFERENCE[0]}): address, route, host loopback through the gateway; ends with the container or detachNetwork`, async () => {
  await checkHelper(undefined);
});

test('private with pasta: the same network; ends with the container (its netns link removed) or detachNetwork', async () => {
  await checkHelper('pasta');
  assert.equal(
    readdirSync(tmp).filter((d) => d.startsWith('container') && readdirSync(path.join(tmp, d)).some((f) => f.startsWith('netns'))),
    [],
    'the netns links pasta watched are removed',
  );
});

test('none and host: no helper; with none the namespace keeps only lo', async () => {
  const holder = await startContainer();
  const none = await attachNetwork(ns, holder.pid!, { mode: 'none', runDir: newRunDir() });
  assert.equal(none, { ip: '', gateway: '', dns: '', mode: 'none' });
  const links = (await inContainer(holder, ['ip', '-o', 'link', 'show'])).trim().split('\n');
  assert.equal(links.map((l) => l.split(':')[1].trim()), ['lo']);
  assert.equal(mentioning(holder.pid!), []);

  const host = await attachNetwork(ns, holder.pid!, { mode: 'host', runDir: newRunDir() });
  assert.equal(host, { ip: '', gateway: '', dns: '', mode: 'host' });
  await detachNetwork(host);
  await stopContainer(holder);
});

test('a container process that is gone: one clear error, nothing left running', async () => {
  const holder = await startContainer();
  const pid = holder.pid!;
  await stopContainer(holder);
  for (const helper of ['slirp4netns', 'pasta'] as NetworkHelper[]) {
    try {
      await attachNetwork(ns, pid, { mode: 'private', runDir: newRunDir(), helper });
      assert.unreachable(`${helper} attached to a dead process`);
    } catch (e) {
      assert.instance(e, TspodError, String(e));
      assert.not.match((e as TspodError).line, '\n');
    }
    await until(() => mentioning(pid).length === 0, `nothing of ${helper} mentions the dead process`);
  }
});

test('hostsFile: Docker\'s localhost lines, --add-host first, the host names, the container\'s own name', () => {
  assert.is(
    hostsFile({ hostname: 'web', ip: PRIVATE_NETWORK.ip, extraHosts: ['db:192.0.2.7', 'gw=host-gateway', 'v6:[2001:db8::1]'] }),
    [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::0\tip6-localnet',
      'ff00::0\tip6-mcastprefix',
      'ff02::1\tip6-allnodes',
      'ff02::2\tip6-allrouters',
      '192.0.2.7\tdb',
      '10.0.2.2\tgw',
      '2001:db8::1\tv6',
      '10.0.2.2\thost.containers.internal host.docker.internal',
      '10.0.2.100\tweb',
      '',
    ].join('\n'),
  );
  const none = hostsFile({ hostname: 'box' });
  assert.match(none, /\n127\.0\.0\.1\tbox\n$/);
  assert.not.match(none, 'host.containers.internal');

  const hostHosts = '127.0.0.1 localhost\n127.0.1.1 myhost\n# comment\n';
  assert.is(
    hostsFile({ hostname: 'myhost', mode: 'host', hostHosts, extraHosts: ['host.docker.internal:192.0.2.1'] }),
    '127.0.0.1 localhost\n127.0.1.1 myhost\n# comment\n192.0.2.1\thost.docker.internal\n127.0.0.1\thost.containers.internal\n',
  );
  for (const bad of ['nocolon', ':1.2.3.4', 'name:999.1.1.1', 'bad name:1.2.3.4', 'x:']) {
    assert.throws(() => hostsFile({ hostname: 'h', ip: PRIVATE_NETWORK.ip, extraHosts: [bad] }), (e: unknown) => e instanceof TspodError && e.line.includes(`invalid --add-host "${bad}"`));
  }
  assert.throws(() => hostsFile({ hostname: 'h', extraHosts: ['gw:host-gateway'] }), /no way to the host/);
  assert.is(hostnameFile('web'), 'web\n');
});

test('resolvConf: the forwarder, reachable host servers, search and options kept; host mode as is; --dns wins', () => {
  const host = ['# from the host', 'search example.test corp.test', 'nameserver 127.0.0.53', 'nameserver 192.0.2.53', 'nameserver fd00::53', 'nameserver fe80::1%eth0', 'options edns0 trust-ad', 'sortlist 10.0.0.0', ''].join('\n');
  assert.is(
    resolvConf({ mode: 'private', hostResolvConf: host }),
    'search example.test corp.test\nnameserver 10.0.2.3\nnameserver 192.0.2.53\noptions edns0 trust-ad\n',
  );
  assert.is(resolvConf({ mode: 'none', hostResolvConf: host }), 'search example.test corp.test\nnameserver 192.0.2.53\nnameserver fd00::53\noptions edns0 trust-ad\n');
  assert.is(resolvConf({ mode: 'host', hostResolvConf: host }), host);
  assert.is(resolvConf({ mode: 'host', hostResolvConf: 'nameserver 127.0.0.53' }), 'nameserver 127.0.0.53\n');
  assert.is(
    resolvConf({ mode: 'private', hostResolvConf: host, dns: ['192.0.2.1', '2001:db8::53'] }),
    'search example.test corp.test\nnameserver 192.0.2.1\nnameserver 2001:db8::53\noptions edns0 trust-ad\n',
  );
  assert.is(resolvConf({ mode: 'private', hostResolvConf: 'nameserver 127.0.0.53\n' }), 'nameserver 10.0.2.3\n');
  assert.is(
    resolvConf({ mode: 'private', hostResolvConf: 'nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\n' }),
    'nameserver 10.0.2.3\nnameserver 192.0.2.1\nnameserver 192.0.2.2\n',
  );
  assert.is(resolvConf({ mode: 'none', hostResolvConf: 'nameserver 127.0.0.1\n' }), '');
  assert.throws(() => resolvConf({ mode: 'private', hostResolvConf: '', dns: ['dns.example'] }), /invalid --dns "dns\.example"/);
});

/**
 * As root: a child (root or the test user) in a private mount namespace where some helpers are
 * hidden (/dev/null, which is not executable, bound over them) or /dev/net/tun is unusable,
 * attaches a network to a fresh namespace. Prints {helper} or {error}.
 */
const CHILD_SCRIPT = `
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { attachNetwork, detachNetwork } from '${DIST_SRC}/namespaces/network.js';
import { joinUserNamespace, stopUserNamespace } from '${DIST_SRC}/namespaces/userns.js';
const [runroot, forced] = process.argv.slice(2);
const ns = await joinUserNamespace({ runroot });
const argv = ns.wrap(['unshare', '--net', '--', 'sleep', '60']);
const holder = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
const own = readlinkSync('/proc/self/ns/net');
for (;;) {
  try { if (readlinkSync('/proc/' + holder.pid + '/ns/net') !== own) break; } catch {}
  await new Promise((r) => setTimeout(r, 10));
}
try {
  const handle = await attachNetwork(ns, holder.pid, { mode: 'private', runDir: runroot + '/ctr', helper: forced || undefined });
  console.log(JSON.stringify({ helper: handle.helper }));
  await detachNetwork(handle);
} catch (e) {
  console.log(JSON.stringify({ error: e.line ?? String(e) }));
} finally {
  holder.kill('SIGKILL');
  await stopUserNamespace({ runroot });
}
`;

interface Staging {
  hide?: string[];
  tun?: 'missing' | 'mode-0600';
  forced?: NetworkHelper;
}

async function stagedAttach(who: 'root' | 'user', staging: Staging): Promise<{ helper?: string; error?: string }> {
  const dir = mkdtempSync(path.join(tmp, 'staged-'));
  chmodSync(dir, 0o755);
  const script = path.join(dir, 'attach.mjs');
  writeFileSync(script, CHILD_SCRIPT);
  const childRunroot = path.join(dir, 'run');
  mkdirSync(childRunroot, { mode: 0o700 });
  const steps = (staging.hide ?? []).map((file) => `mount --bind /dev/null ${realpathSync(file)}`);
  if (staging.tun === 'missing') steps.push('mount -t tmpfs tmpfs /dev/net');
  if (staging.tun === 'mode-0600') {
    writeFileSync(path.join(dir, 'tun'), '', { mode: 0o600 });
    steps.push(`mount --bind ${dir}/tun /dev/net/tun`);
  }
  let runAs: string[] = [];
  if (who === 'user') {
    const user = ensureTestUser();
    chownSync(childRunroot, user.uid, user.gid);
    runAs = ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', 'env', `HOME=${user.home}`];
  }
  const argv = ['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c', `${steps.join(' && ') || 'true'} && exec "$@"`, 'sh', ...runAs, process.execPath, script, childRunroot, staging.forced ?? ''];
  const { stdout } = await execFileAsync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { helper?: string; error?: string };
}

if (isRoot()) {
  test('staged: a missing first helper falls back to the other; missing helpers and /dev/net/tun are one line with the fix', async () => {
    const slirp = findExecutable('slirp4netns')!;
    const pasta = findExecutable('pasta')!;
    const uid = ensureTestUser().uid;
    // The choice and the checks do not depend on who runs them, except opening /dev/net/tun
    // (pasta as root is covered by the tests above).
    const cases: [string, 'root' | 'user', Staging, { helper?: string; error?: string }][] = [
      ['slirp4netns hidden', 'user', { hide: [slirp] }, { helper: 'pasta' }],
      ['both hidden', 'root', { hide: [slirp, pasta] }, { error: 'neither slirp4netns nor pasta is installed, so containers cannot have a network: as root: apt-get install -y slirp4netns' }],
      ['pasta forced and hidden', 'root', { hide: [pasta], forced: 'pasta' }, { error: 'pasta is not installed: as root: apt-get install -y passt' }],
      ['no /dev/net/tun', 'root', { tun: 'missing' }, { error: '/dev/net/tun does not exist: as root: modprobe tun' }],
      ['/dev/net/tun 0600', 'user', { tun: 'mode-0600' }, { error: `/dev/net/tun cannot be opened for reading and writing by uid ${uid} (mode 0600): as root: chmod 0666 /dev/net/tun` }],
    ];
    const results = await Promise.all(cases.map(([, who, staging]) => stagedAttach(who, staging)));
    cases.forEach(([name, who, , expected], i) => assert.equal(results[i], expected, `${name} (${who})`));
  });

  test(`as ${TEST_USER}: this file's tests pass rootless`, () => {
    const result = runTestFileAsTestUser('network');
    assert.is(result.code, 0, result.output);
    assert.match(result.output, /Passed:\s+\d+/, result.output);
  });
}

test.run();
