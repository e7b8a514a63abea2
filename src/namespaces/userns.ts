/**
 * The rootless user namespace. One long-lived "pause" process per runroot holds a user namespace
 * (container root = the user, container ids 1.. = the subordinate ranges) plus a private mount
 * namespace; every tspod command that needs either joins it with nsenter instead of building a
 * new one, so mounts made by one command (overlay rootfs of a running container) are seen by the
 * next. As root there is no such namespace and commands run as they are.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { TspodError } from '../core/errors.js';
import { findExecutable, HELPER_PATH, oneLine } from './helpers.js';
import { currentUser, subIdFile, subIdRanges, type SubIdKind, type SubIdRange } from './subid.js';

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface NamespaceContext {
  /** false when euid is 0: no user namespace, wrap() returns argv unchanged */
  rootless: boolean;
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
  pausePid?: number;
  /**
   * argv that runs `argv` inside the user + mount namespace:
   * nsenter -t PID -U -m --preserve-credentials -- ...argv (unchanged as root).
   * Entering the mount namespace resets the working directory to /, so paths in argv must be
   * absolute.
   */
  wrap(argv: string[]): string[];
}

const PID_FILE = 'pause.pid';
const LOCK_FILE = 'pause.lock';

/** The pause process as recorded in pause.pid: its pid and the namespaces it was created with. */
interface PauseRecord {
  pid: number;
  userNs: string;
  mountNs: string;
}

const execFileAsync = promisify(execFile);

export async function joinUserNamespace(opts: { runroot: string }): Promise<NamespaceContext> {
  if (process.geteuid!() === 0) return hostContext();
  const live = await livePause(opts.runroot);
  if (live) return pauseContext(live);
  await mkdir(opts.runroot, { recursive: true, mode: 0o700 });
  const release = await lockRunroot(opts.runroot);
  try {
    // Another command may have created it while we waited for the lock.
    const created = (await livePause(opts.runroot)) ?? (await startPause(opts.runroot));
    return await pauseContext(created);
  } finally {
    await release();
  }
}

/** Kills the pause process of `runroot` (if any) and removes its pid file. */
export async function stopUserNamespace(opts: { runroot: string }): Promise<void> {
  const pidFile = path.join(opts.runroot, PID_FILE);
  const recorded = await readRecord(pidFile);
  if (!recorded) return;
  const release = await lockRunroot(opts.runroot);
  try {
    const live = await livePause(opts.runroot);
    if (live) {
      process.kill(live.pid, 'SIGKILL');
      await waitUntilGone(live);
    }
    await rm(pidFile, { force: true });
  } finally {
    await release();
  }
}

/** The identity map of the initial user namespace. */
function isInitialNamespace(mappings: IdMapping[]): boolean {
  return mappings.length === 1 && mappings[0].containerID === 0 && mappings[0].hostID === 0 && mappings[0].size === 4294967295;
}

/**
 * Root needs no namespace. A process already inside the pause process's user namespace (conmon
 * runs tspod's exit command there) is root too, but rootless: it has nothing to enter.
 */
async function hostContext(): Promise<NamespaceContext> {
  const uidMappings = parseIdMap(await readFile('/proc/self/uid_map', 'utf8'));
  return {
    rootless: !isInitialNamespace(uidMappings),
    uidMappings,
    gidMappings: parseIdMap(await readFile('/proc/self/gid_map', 'utf8')),
    wrap: (argv) => argv,
  };
}

async function pauseContext(pause: PauseRecord): Promise<NamespaceContext> {
  const nsenter = requireExecutable('nsenter', 'util-linux');
  const prefix = [nsenter, '-t', String(pause.pid), '-U', '-m', '--preserve-credentials', '--'];
  return {
    rootless: true,
    uidMappings: parseIdMap(await readFile(`/proc/${pause.pid}/uid_map`, 'utf8')),
    gidMappings: parseIdMap(await readFile(`/proc/${pause.pid}/gid_map`, 'utf8')),
    pausePid: pause.pid,
    wrap: (argv) => [...prefix, ...argv],
  };
}

/** Lines of /proc/PID/{uid,gid}_map: "inside outside count", outside as seen from our namespace. */
export function parseIdMap(text: string): IdMapping[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every(Number.isInteger))
    .map(([containerID, hostID, size]) => ({ containerID, hostID, size }));
}

/** Loaded only when a pause process is created or stopped: joining one needs no lock. */
async function lockRunroot(runroot: string): Promise<() => Promise<void>> {
  const { default: lockfile } = await import('proper-lockfile');
  return lockfile.lock(path.join(runroot, LOCK_FILE), {
    realpath: false,
    stale: 10_000,
    retries: { retries: 200, factor: 1.2, minTimeout: 10, maxTimeout: 200 },
  });
}

async function readRecord(pidFile: string): Promise<PauseRecord | undefined> {
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const [pidText, userNs, mountNs] = text.split('\n');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || !userNs || !mountNs) return undefined;
  return { pid, userNs, mountNs };
}

/** The identity of pid's namespaces, or undefined when it is gone (or a zombie, or not ours). */
async function namespacesOf(pid: number): Promise<{ userNs: string; mountNs: string } | undefined> {
  try {
    const [userNs, mountNs] = await Promise.all([readlink(`/proc/${pid}/ns/user`), readlink(`/proc/${pid}/ns/mnt`)]);
    return { userNs, mountNs };
  } catch {
    return undefined;
  }
}

/**
 * The recorded pause process if it is still the namespace holder: the pid alone could have been
 * reused, so its user and mount namespaces must be the ones recorded at creation.
 */
async function livePause(runroot: string): Promise<PauseRecord | undefined> {
  const recorded = await readRecord(path.join(runroot, PID_FILE));
  if (!recorded) return undefined;
  const ns = await namespacesOf(recorded.pid);
  return ns && ns.userNs === recorded.userNs && ns.mountNs === recorded.mountNs ? recorded : undefined;
}

async function waitUntilGone(pause: PauseRecord): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const ns = await namespacesOf(pause.pid);
    if (!ns || ns.userNs !== pause.userNs) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`pause process ${pause.pid} did not exit after SIGKILL`);
}

function requireExecutable(name: string, debianPackage: string): string {
  const found = findExecutable(name);
  if (!found) throw new TspodError(`${name} not found`, `install it, e.g. as root: apt-get install ${debianPackage}`);
  return found;
}

/**
 * Container id 0 is the user itself; ids 1.. are the subordinate ranges, one after the other.
 * Returns newuidmap/newgidmap's "inside outside count" triples.
 */
export function mappingArgs(ownId: number, ranges: SubIdRange[]): string[] {
  const args = ['0', String(ownId), '1'];
  let next = 1;
  for (const range of ranges) {
    args.push(String(next), String(range.start), String(range.count));
    next += range.count;
  }
  return args;
}

/**
 * The pause process's shell: it tells the parent it is inside the new namespaces, waits until the
 * parent has written the id maps, then becomes the pause program. Reading EOF (the parent died)
 * makes it exit instead of pausing without a mapping.
 */
const PAUSE_SCRIPT = 'echo ready; read go && [ "$go" = go ] || exit 1; exec "$@" </dev/null >/dev/null 2>&1';

async function startPause(runroot: string): Promise<PauseRecord> {
  const user = currentUser();
  const uidRanges = await subIdRanges('uid', user);
  const gidRanges = await subIdRanges('gid', user);
  const newuidmap = requireExecutable('newuidmap', 'uidmap');
  const newgidmap = requireExecutable('newgidmap', 'uidmap');
  const unshare = requireExecutable('unshare', 'util-linux');
  const catatonit = findExecutable('catatonit');
  const pauseArgv = catatonit ? [catatonit, '-P'] : [requireExecutable('sleep', 'coreutils'), 'infinity'];

  const child = spawn(
    unshare,
    ['-U', '-m', '--propagation', 'private', '--', '/bin/sh', '-c', PAUSE_SCRIPT, 'tspod-pause', ...pauseArgv],
    // detached: a session of its own, so it outlives this command and its terminal.
    { detached: true, cwd: '/', stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: HELPER_PATH, LC_ALL: 'C' } },
  );
  const output = collectOutput(child);
  try {
    if (!(await output.waitFor('ready\n'))) throw await userNamespaceFailure(output.stderr());
    const ns = await namespacesOf(child.pid!);
    if (!ns) throw new Error(`the new namespace holder ${child.pid} vanished: ${oneLine(output.stderr())}`);
    await writeIdMap(newuidmap, 'uid', child.pid!, mappingArgs(process.geteuid!(), uidRanges), user.name);
    await writeIdMap(newgidmap, 'gid', child.pid!, mappingArgs(process.getegid!(), gidRanges), user.name);
    child.stdin!.end('go\n');
    await output.closed();
    const record: PauseRecord = { pid: child.pid!, ...ns };
    if ((await namespacesOf(record.pid))?.userNs !== record.userNs) {
      throw new Error(`the pause process exited right after start: ${oneLine(output.stderr())}`);
    }
    const pidFile = path.join(runroot, PID_FILE);
    const tmp = `${pidFile}.${process.pid}.tmp`;
    await writeFile(tmp, `${record.pid}\n${record.userNs}\n${record.mountNs}\n`, { mode: 0o600 });
    await rename(tmp, pidFile);
    return record;
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  } finally {
    child.stdin!.destroy();
    child.stdout!.destroy();
    child.stderr!.destroy();
    child.unref();
  }
}

interface ChildOutput {
  /** true once stdout contains `text`; false if the child exits first. */
  waitFor(text: string): Promise<boolean>;
  /** Resolves when the child has closed stdout (it redirects it when it execs the pause program). */
  closed(): Promise<void>;
  stderr(): string;
}

function collectOutput(child: ChildProcess): ChildOutput {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exit = new Promise<false>((resolve) => {
    child.once('error', (e) => {
      stderr += String(e);
      resolve(false);
    });
    child.once('exit', () => resolve(false));
  });
  const stdoutEnd = new Promise<void>((resolve) => child.stdout!.once('close', resolve));
  return {
    async waitFor(text) {
      const seen = new Promise<true>((resolve) => {
        const check = () => {
          if (stdout.includes(text)) {
            child.stdout!.off('data', check);
            resolve(true);
          }
        };
        child.stdout!.on('data', check);
        check();
      });
      return Promise.race([seen, exit]);
    },
    async closed() {
      await stdoutEnd;
    },
    stderr: () => stderr,
  };
}

async function writeIdMap(helper: string, kind: SubIdKind, pid: number, args: string[], userName?: string): Promise<void> {
  try {
    await execFileAsync(helper, [String(pid), ...args], { env: { PATH: HELPER_PATH, LC_ALL: 'C' } });
  } catch (e) {
    const detail = oneLine((e as { stderr?: string }).stderr || (e as Error).message);
    const name = path.basename(helper);
    const info = await stat(helper);
    if ((info.mode & 0o4000) === 0 || info.uid !== 0) {
      throw new TspodError(
        `${name} failed (${detail})`,
        `${helper} is not setuid root: as root, reinstall uidmap or run chmod u+s ${helper}, or give it file capabilities: setcap cap_set${kind}+ep ${helper}`,
      );
    }
    throw new TspodError(
      `${name} failed (${detail})`,
      `check the ranges of user "${userName ?? process.geteuid!()}" in ${subIdFile(kind)}; they must not overlap other users' and must be in /etc/sub${kind} too`,
    );
  }
}

async function sysctl(name: string): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Why unshare could not create a user namespace, with the sysctl that would allow it. */
async function userNamespaceFailure(stderr: string): Promise<TspodError> {
  const message = `cannot create a user namespace (${oneLine(stderr) || 'unshare failed'})`;
  if ((await sysctl('user.max_user_namespaces')) === '0') {
    return new TspodError(`${message}: user namespaces are disabled`, 'as root: sysctl -w user.max_user_namespaces=15000');
  }
  if ((await sysctl('kernel.unprivileged_userns_clone')) === '0') {
    return new TspodError(
      `${message}: unprivileged user namespaces are disabled`,
      'as root: sysctl -w kernel.unprivileged_userns_clone=1',
    );
  }
  if ((await sysctl('kernel.apparmor_restrict_unprivileged_userns')) === '1') {
    return new TspodError(
      `${message}: AppArmor restricts unprivileged user namespaces`,
      'as root: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or add an AppArmor profile allowing userns for tspod',
    );
  }
  return new TspodError(
    message,
    'as root, check that user namespaces are enabled: user.max_user_namespaces > 0 (and not exhausted), kernel.unprivileged_userns_clone=1 on Debian-patched kernels, kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu',
  );
}
