/**
 * A container's network. "private" gives the container a network namespace of its own (created
 * by the OCI runtime) connected to the host by a user-mode TCP/IP stack, slirp4netns or pasta:
 * they need no privileges, so root and rootless containers use the same path (Podman's root
 * bridges would need iptables and a CNI/netavark setup for little gain here). "none" keeps only
 * the loopback interface, which runc and crun bring up themselves. "host" shares the network
 * namespace tspod runs in (rootless: the pause process's, which is the host's); there is nothing
 * to attach.
 *
 * Both helpers are given the same addresses (slirp4netns' defaults), so /etc/hosts and
 * /etc/resolv.conf can be written before anyone knows which helper will run, and the gateway
 * leads to the host's loopback: a container reaches a registry on the host's 127.0.0.1:PORT at
 * 10.0.2.2:PORT (Podman's allow_host_loopback=true, off there by default; tspod wants it on).
 *
 * The helper outlives the tspod command (own session, no tie to our stdio) and ends with the
 * container: a `tail --pid` watcher waits for the container's process and then makes the helper
 * quit, race-free (see startSlirp4netns and startPasta). detachNetwork ends it sooner.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { TspodError } from '../core/errors.js';
import { prerequisiteError } from '../core/prerequisites.js';
import { findExecutable, HELPER_PATH, oneLine } from './helpers.js';
import { openReadWrite } from './probe.js';
import type { NamespaceContext } from './userns.js';

export type NetworkMode = 'private' | 'none' | 'host';
export type NetworkHelper = 'slirp4netns' | 'pasta';

export interface NetworkHandle {
  /** the helper process (private mode); detachNetwork ends it */
  helperPid?: number;
  /** the container's address; '' when it has no network of its own */
  ip: string;
  /** the address at which the container reaches the host's loopback */
  gateway: string;
  /** the DNS forwarder inside the private network */
  dns: string;
  mode: NetworkMode;
  helper?: NetworkHelper;
}

/** The private network as both helpers set it up. */
export const PRIVATE_NETWORK = {
  interface: 'tap0',
  ip: '10.0.2.100',
  prefixLength: 24,
  gateway: '10.0.2.2',
  dns: '10.0.2.3',
  /** the largest that both allow: far fewer packets through the user-mode stack than 1500 */
  mtu: 65520,
} as const;

/**
 * Tried in this order; the first installed one is used. slirp4netns first: with the versions
 * here (slirp4netns 1.2.0, passt 2023-03-09) it is up 3 to 4 times sooner (roughly 0.1-0.3 s
 * against 0.3-0.8 s, paid by every start), while throughput is mixed (pasta faster from host to
 * container, slower and erratic the other way) and round trips alike; scripts/bench/network.
 */
export const HELPER_PREFERENCE: readonly NetworkHelper[] = ['slirp4netns', 'pasta'];

const HELPER_ENV = { PATH: HELPER_PATH, LC_ALL: 'C' };
const READY_TIMEOUT_MS = 15_000;

/**
 * Connects the network namespace of `containerPid` (created, not started, by the runtime) as
 * `opts.mode` says. `helper` forces one helper instead of the first installed one.
 */
export async function attachNetwork(
  ns: NamespaceContext,
  containerPid: number,
  opts: { mode: NetworkMode; runDir: string; helper?: NetworkHelper },
): Promise<NetworkHandle> {
  if (opts.mode !== 'private') return { ip: '', gateway: '', dns: '', mode: opts.mode };
  const helper = chooseHelper(opts.helper);
  requireTun();
  const tail = findExecutable('tail');
  if (!tail) throw new TspodError('tail not found', 'install it, e.g. as root: apt-get install coreutils');
  await mkdir(opts.runDir, { recursive: true, mode: 0o700 });
  const run = { ns, containerPid, runDir: opts.runDir, helperPath: helper.path, tail };
  const helperPid = helper.name === 'slirp4netns' ? await startSlirp4netns(run) : await startPasta(run);
  return {
    helperPid,
    ip: PRIVATE_NETWORK.ip,
    gateway: PRIVATE_NETWORK.gateway,
    dns: PRIVATE_NETWORK.dns,
    mode: 'private',
    helper: helper.name,
  };
}

/** Ends the helper of `handle` (if it still runs) and waits until it is gone. */
export async function detachNetwork(handle: NetworkHandle): Promise<void> {
  const pid = handle.helperPid;
  if (!pid || !(await isHelper(pid))) return;
  signal(pid, 'SIGTERM');
  if (await exited(pid, 2_000)) return;
  signal(pid, 'SIGKILL');
  if (!(await exited(pid, 2_000))) throw new Error(`network helper ${pid} did not exit after SIGKILL`);
}

function chooseHelper(forced?: NetworkHelper): { name: NetworkHelper; path: string } {
  for (const name of forced ? [forced] : HELPER_PREFERENCE) {
    const found = findExecutable(name);
    if (found) return { name, path: found };
  }
  throw forced ? prerequisiteError('helper-missing', forced) : prerequisiteError('network-helper-missing');
}

/** Both helpers create their tap device through /dev/net/tun, as the (host) user we run as. */
function requireTun(): void {
  const tun = openReadWrite('/dev/net/tun');
  if (tun.ok) return;
  if (tun.code === 'ENOENT') throw prerequisiteError('device-missing', '/dev/net/tun');
  throw prerequisiteError('device-denied', '/dev/net/tun', process.geteuid!(), tun.mode);
}

interface HelperRun {
  ns: NamespaceContext;
  containerPid: number;
  runDir: string;
  helperPath: string;
  tail: string;
}

/** A helper in a session of its own: it outlives this command and our terminal's signals. */
function spawnDetached(argv: string[], stdio: StdioOptions): ChildProcess {
  return spawn(argv[0], argv.slice(1), { detached: true, cwd: '/', env: HELPER_ENV, stdio });
}

/**
 * The argv of a watcher of the container's process: it exits once that process is gone (tail
 * polls it every second, so a helper may outlive its container by up to a second).
 */
function watcherArgv(run: HelperRun): string[] {
  return [run.tail, `--pid=${run.containerPid}`, '-f', '/dev/null'];
}

/**
 * slirp4netns joins the container's network namespace (rootless, we start it inside the pause
 * user namespace, which owns that network namespace), configures tap0 and reports on --ready-fd.
 * Its --exit-fd is the other end of the watcher's stdout: when the watcher exits, it reads EOF
 * and slirp4netns quits. No --disable-host-loopback: the gateway must reach the host's 127.0.0.1.
 */
async function startSlirp4netns(run: HelperRun): Promise<number> {
  const logFile = path.join(run.runDir, 'slirp4netns.log');
  const argv = run.ns.wrap([
    run.helperPath,
    '--configure',
    `--mtu=${PRIVATE_NETWORK.mtu}`,
    '--enable-sandbox',
    '--enable-seccomp',
    '--ready-fd=3',
    '--exit-fd=4',
    String(run.containerPid),
    PRIVATE_NETWORK.interface,
  ]);
  const watcher = spawnDetached(watcherArgv(run), ['ignore', 'pipe', 'ignore']);
  const log = openSync(logFile, 'w', 0o600);
  const child = spawnDetached(argv, ['ignore', log, log, 'pipe', watcher.stdout!]);
  closeSync(log);
  watcher.stdout!.destroy();
  watcher.unref();
  const ready = child.stdio[3] as Readable;
  const outcome = await settle(child, (done) => ready.once('data', () => done('ready')));
  ready.destroy();
  child.unref();
  if (outcome !== 'ready') {
    child.kill('SIGKILL');
    watcher.kill('SIGKILL');
    throw helperFailure('slirp4netns', outcome, await readText(logFile));
  }
  return child.pid!;
}

/**
 * pasta has no exit fd, but it quits when the file it was given as --netns is deleted (inotify
 * on that directory). So it gets RUNDIR/netns-PID, a symlink to its own fd 3, which is the
 * container's network namespace opened by us: pasta drops its capabilities before it opens the
 * namespace, and may then no longer open /proc/PID/ns/net itself. When the container's process
 * is gone, the watcher deletes the symlink. pasta daemonizes once tap0 is configured, so its
 * first process exiting 0 means ready.
 */
async function startPasta(run: HelperRun): Promise<number> {
  const logFile = path.join(run.runDir, 'pasta.log');
  const pidFile = path.join(run.runDir, 'pasta.pid');
  // Named after the container's process: a watcher of the container's previous run (restart)
  // may still be about to delete its own link.
  const netnsLink = path.join(run.runDir, `netns-${run.containerPid}`);
  const argv = run.ns.wrap([
    run.helperPath,
    '--config-net',
    '--ipv4-only',
    '--ns-ifname', PRIVATE_NETWORK.interface,
    '--address', PRIVATE_NETWORK.ip,
    '--netmask', String(PRIVATE_NETWORK.prefixLength),
    '--gateway', PRIVATE_NETWORK.gateway,
    '--dns-forward', PRIVATE_NETWORK.dns,
    '--mtu', String(PRIVATE_NETWORK.mtu),
    // No port forwarding either way (its default, "auto", follows whatever ports get bound).
    '--tcp-ports', 'none', '--udp-ports', 'none', '--tcp-ns', 'none', '--udp-ns', 'none',
    '--quiet',
    '--log-file', logFile,
    '--pid', pidFile,
    '--netns', netnsLink,
    '--netns-only',
    // As real root pasta switches to "nobody", which could not use fd 3 any more.
    ...(run.ns.rootless ? [] : ['--runas', '0']),
  ]);
  await rm(netnsLink, { force: true });
  await symlink('/proc/self/fd/3', netnsLink);
  let netns: number;
  try {
    netns = openSync(`/proc/${run.containerPid}/ns/net`, 'r');
  } catch (e) {
    await rm(netnsLink, { force: true });
    throw new TspodError(`cannot attach a network to process ${run.containerPid}: ${(e as Error).message}`);
  }
  const child = spawn(argv[0], argv.slice(1), { cwd: '/', env: HELPER_ENV, stdio: ['ignore', 'ignore', 'pipe', netns] });
  closeSync(netns);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const outcome = await settle(child, () => undefined);
  const pid = outcome === 'exit 0' ? Number((await readText(pidFile)).trim()) : NaN;
  if (!Number.isInteger(pid) || pid <= 0) {
    child.kill('SIGKILL');
    await rm(netnsLink, { force: true });
    throw helperFailure('pasta', outcome, `${stderr}\n${await readText(logFile)}`);
  }
  const watcher = spawnDetached(['/bin/sh', '-c', '"$@"; rm -f "$0"', netnsLink, ...watcherArgv(run)], 'ignore');
  watcher.unref();
  return pid;
}

type Outcome = 'ready' | 'timeout' | `exit ${number | string}` | `error ${string}`;

/** Waits until `wire` calls done, the child exits (and its stdio is closed) or time runs out. */
function settle(child: ChildProcess, wire: (done: (o: Outcome) => void) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done('timeout'), READY_TIMEOUT_MS);
    function done(outcome: Outcome): void {
      clearTimeout(timer);
      resolve(outcome);
    }
    child.once('error', (e) => done(`error ${e.message}`));
    child.once('close', (code, sig) => done(`exit ${code ?? sig}`));
    wire(done);
  });
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return '';
  }
}

/** Lines the helpers print on every run, which explain nothing. */
const NOISE = /^(WARNING: Support for seccomp is experimental|Failed to send \d+ bytes to syslog)$/gm;

function helperFailure(name: NetworkHelper, outcome: Outcome, output: string): TspodError {
  const why = oneLine(output.replace(NOISE, '')) || outcome;
  return new TspodError(`${name} could not set up the container's network (${why})`);
}

/** Names of helper processes in /proc/PID/stat (pasta runs as passt.avx2 on CPUs with AVX2). */
const HELPER_COMMANDS = new Set(['slirp4netns', 'pasta', 'passt', 'pasta.avx2', 'passt.avx2']);

/**
 * Whether pid is a live network helper of ours: the recorded pid may have been reused since.
 * Ours means owned by our uid (rootless helpers run as root of the pause user namespace, which
 * is our uid outside it).
 */
async function isHelper(pid: number): Promise<boolean> {
  const [statLine, owner] = await Promise.all([readText(`/proc/${pid}/stat`), ownerOf(`/proc/${pid}`)]);
  const match = /^\d+ \((.*)\) (\S)/s.exec(statLine);
  return match !== null && match[2] !== 'Z' && HELPER_COMMANDS.has(match[1]) && owner === process.geteuid!();
}

async function ownerOf(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).uid;
  } catch {
    return undefined;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

async function exited(pid: number, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (!(await isHelper(pid))) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}
