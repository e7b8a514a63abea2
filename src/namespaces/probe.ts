/**
 * Probes of the host: what helper binaries are installed and whether they work, what the kernel
 * allows (user namespaces, overlay mounts), how cgroups are laid out. Each probe does the real
 * thing where that is cheap (spawn the helper, create the namespace, mount the overlay) rather
 * than guess from configuration files.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findExecutable, HELPER_PATH, oneLine } from './helpers.js';
import type { IdMapping } from './userns.js';
import type { SubIdRange } from './subid.js';

const HELPER_ENV = { PATH: HELPER_PATH, LC_ALL: 'C' };
const PROBE_TIMEOUT_MS = 10_000;

export interface RunResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Runs a helper to completion; never throws (a missing or failing helper is a probe result). */
export function runHelper(file: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env: HELPER_ENV, timeout: PROBE_TIMEOUT_MS, cwd: '/' }, (err, stdout, stderr) => {
      resolve({ ok: !err, stdout, stderr: stderr || (err && !stdout ? err.message : '') });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export interface HelperBinary {
  name: string;
  path: string;
  version: string;
}

/**
 * The version a helper reports with --version: the token after the word "version" on its first
 * line ("runc version 1.1.5+ds1", "conmon version 2.1.6"), else the token after the program's
 * name ("pasta 2023_06_03.429e1a7"; "pasta unknown version" gives "unknown").
 */
export function parseVersion(output: string): string {
  const first = output.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  const match = /\bversion:?\s+v?(\S+)/i.exec(first) ?? /^\S+\s+v?(\S+)/.exec(first);
  return match ? match[1] : first || 'unknown';
}

/** A helper found on the search path and its version, or undefined when it is not installed. */
export async function probeHelper(name: string): Promise<HelperBinary | undefined> {
  const file = findExecutable(name);
  if (!file) return undefined;
  const result = await runHelper(file, ['--version']);
  return { name, path: file, version: result.ok ? parseVersion(result.stdout) : 'unknown' };
}

/** Whether this process may use a file as a setuid-root binary or through file capabilities. */
export interface PrivilegeInfo {
  setuidRoot: boolean;
  /** getcap's view, e.g. "cap_setuid=ep"; undefined when there are none or getcap is missing */
  capabilities?: string;
}

export async function privilegeOf(file: string): Promise<PrivilegeInfo> {
  const st = statSync(file);
  const setuidRoot = st.uid === 0 && (st.mode & 0o4000) !== 0;
  if (setuidRoot) return { setuidRoot };
  // Node cannot read the security.capability xattr; getcap (libcap2-bin) can.
  const getcap = findExecutable('getcap');
  if (!getcap) return { setuidRoot };
  const result = await runHelper(getcap, [file]);
  const capabilities = result.stdout.trim().slice(file.length).trim().replace(/^=\s*/, '');
  return { setuidRoot, capabilities: capabilities || undefined };
}

/** Opens a device read-write and closes it: what slirp4netns (/dev/net/tun) and FUSE need. */
export function openReadWrite(file: string): { ok: true } | { ok: false; code: string; mode?: number } {
  try {
    closeSync(openSync(file, constants.O_RDWR | constants.O_NONBLOCK));
    return { ok: true };
  } catch (e) {
    let mode: number | undefined;
    try {
      mode = statSync(file).mode & 0o7777;
    } catch {
      // missing: no mode to report
    }
    return { ok: false, code: (e as NodeJS.ErrnoException).code ?? String(e), mode };
  }
}

/** A value under /proc/sys (e.g. "user.max_user_namespaces"), or undefined when it does not exist. */
export function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export interface CgroupLayout {
  version: 'v1' | 'v2';
  /** v1 controllers with a cgroup2 mount at /sys/fs/cgroup/unified (systemd's "hybrid" mode) */
  hybrid: boolean;
}

/** The fs type mounted at each mount point, last mount wins (as the kernel resolves stacking). */
function mountTypes(): Map<string, string> {
  const types = new Map<string, string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep < 5) continue;
    types.set(fields[4].replace(/\\040/g, ' '), fields[sep + 1]);
  }
  return types;
}

export function cgroupLayout(): CgroupLayout {
  const types = mountTypes();
  if (types.get('/sys/fs/cgroup') === 'cgroup2') return { version: 'v2', hybrid: false };
  return { version: 'v1', hybrid: types.get('/sys/fs/cgroup/unified') === 'cgroup2' };
}

/** Creates a user namespace mapping only ourselves (`unshare -U -r`): no helper binaries needed. */
export async function probeUserNamespace(unshare: string): Promise<RunResult> {
  return runHelper(unshare, ['-U', '-r', 'true']);
}

export interface IdMapProbe {
  ok: boolean;
  /** which step failed: the namespace itself, newuidmap or newgidmap */
  failedStep?: 'unshare' | 'newuidmap' | 'newgidmap';
  error?: string;
  uidMap?: IdMapping[];
  gidMap?: IdMapping[];
}

/**
 * The full rootless mapping, as the pause process gets it: a fresh user namespace, then
 * newuidmap/newgidmap write the user's own id plus the subordinate ranges. The child waits
 * (on stdin) until the maps are written, prints them and exits; nothing outlives the probe.
 */
export async function probeIdMapping(
  tools: { unshare: string; newuidmap: string; newgidmap: string },
  ranges: { uid: SubIdRange[]; gid: SubIdRange[] },
): Promise<IdMapProbe> {
  const child = spawn(tools.unshare, ['-U', '--', '/bin/sh', '-c', 'echo ready; read go || exit 1; cat /proc/self/uid_map; echo --; cat /proc/self/gid_map'], {
    cwd: '/',
    env: HELPER_ENV,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (e) => {
      stderr += String(e);
      resolve(null);
    });
    child.once('close', (code) => resolve(code));
  });
  const ready = new Promise<boolean>((resolve) => {
    const check = () => stdout.includes('ready\n') && resolve(true);
    child.stdout.on('data', check);
    void exited.then(() => resolve(false));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
  // Loaded here, not at the top: userns.js pulls in proper-lockfile, which `tspod version` need not pay for.
  const { mappingArgs, parseIdMap } = await import('./userns.js');
  try {
    if (!(await ready)) return { ok: false, failedStep: 'unshare', error: oneLine(stderr) || 'unshare failed' };
    const pid = String(child.pid);
    const uid = await runHelper(tools.newuidmap, [pid, ...mappingArgs(process.geteuid!(), ranges.uid)]);
    if (!uid.ok) return { ok: false, failedStep: 'newuidmap', error: oneLine(uid.stderr) };
    const gid = await runHelper(tools.newgidmap, [pid, ...mappingArgs(process.getegid!(), ranges.gid)]);
    if (!gid.ok) return { ok: false, failedStep: 'newgidmap', error: oneLine(gid.stderr) };
    child.stdin.end('go\n');
    await exited;
    const [uidText, gidText = ''] = stdout.slice(stdout.indexOf('ready\n') + 6).split('--\n');
    return { ok: true, uidMap: parseIdMap(uidText), gidMap: parseIdMap(gidText) };
  } finally {
    clearTimeout(timer);
    child.stdin.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Mounts a kernel overlay the way containers will get theirs: rootless inside a user namespace
 * (with userxattr, as the kernel requires there), as root in a private mount namespace. The
 * mount dies with the namespace when `mount` exits, so nothing is left mounted.
 * `parent` should be on the store's filesystem: overlay support depends on the upper layer's.
 */
export async function probeOverlay(tools: { unshare: string; mount: string }, parent: string, rootless: boolean): Promise<RunResult> {
  const dir = await mkdtemp(path.join(parent, '.tspod-overlay-probe-'));
  try {
    const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => path.join(dir, d));
    await Promise.all([lower, upper, work, merged].map((d) => mkdir(d)));
    await writeFile(path.join(lower, 'file'), '');
    const options = `lowerdir=${lower},upperdir=${upper},workdir=${work}${rootless ? ',userxattr' : ''}`;
    const nsFlags = rootless ? ['-U', '-r', '-m'] : ['-m'];
    return await runHelper(tools.unshare, [...nsFlags, '--', tools.mount, '-t', 'overlay', 'overlay', '-o', options, merged]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Where the overlay probe may create its scratch directory: the store's root once it exists. */
export function overlayProbeParent(storeRoot: string): string {
  try {
    if (statSync(storeRoot).isDirectory()) return storeRoot;
  } catch {
    // no store yet: probing must not create it
  }
  return os.tmpdir();
}
