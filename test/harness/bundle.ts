/**
 * Containers without images for the conmon/runtime/attach tests: a busybox rootfs shared read-only
 * by every container, and a minimal OCI bundle per container (no user namespace in the spec: as
 * the test user, the whole conmon + runtime runs inside tspod's user namespace already).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchConmon, type ConmonRequest } from '../../src/namespaces/conmon.js';
import { runtimeDelete, runtimeState, type RuntimeContext } from '../../src/namespaces/oci-runtime.js';
import { findRuntime } from '../../src/namespaces/runtime.js';
import { joinUserNamespace, stopUserNamespace } from '../../src/namespaces/userns.js';

const APPLETS = ['sh', 'cat', 'echo', 'sleep', 'true', 'false', 'stty', 'id', 'ls', 'head', 'tr', 'wc', 'kill', 'printf'];

export interface Lab {
  dir: string;
  rootfs: string;
  rc: RuntimeContext;
  /** the containers made so far, removed by close() */
  containers: TestContainer[];
  close(): Promise<void>;
}

export interface TestContainer {
  id: string;
  bundle: string;
  runDir: string;
  logPath: string;
  request: ConmonRequest;
  /** set by launch() */
  pid?: number;
  conmonPid?: number;
}

export interface ContainerOptions {
  tty?: boolean;
  stdin?: boolean;
  /** catatonit as PID 1 (mounted at /dev/init), so that signals like SIGTERM take their default effect */
  init?: boolean;
}

/** A private working directory, a user namespace (rootless) and the OCI runtime. */
export async function openLab(name: string, runtime = process.env.TSPOD_TEST_RUNTIME): Promise<Lab> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `tspod-${name}-`));
  const runroot = path.join(dir, 'runroot');
  mkdirSync(runroot, { mode: 0o700 });
  const rootfs = path.join(dir, 'rootfs');
  for (const sub of ['bin', 'dev', 'etc', 'proc', 'sys', 'tmp']) mkdirSync(path.join(rootfs, sub), { recursive: true });
  copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  for (const applet of APPLETS) symlinkSync('busybox', path.join(rootfs, 'bin', applet));
  writeFileSync(path.join(rootfs, 'etc/plain'), 'not a program\n', { mode: 0o644 });
  const ns = await joinUserNamespace({ runroot });
  const rc: RuntimeContext = { ns, runtime: await findRuntime(runtime, { runroot }), stateRoot: path.join(runroot, 'runtime') };
  const lab: Lab = {
    dir,
    rootfs,
    rc,
    containers: [],
    async close() {
      for (const c of lab.containers) await runtimeDelete(rc, c.id, { force: true });
      await stopUserNamespace({ runroot });
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return lab;
}

let serial = 0;

/** A bundle whose process runs `args`; not launched yet. */
export function makeContainer(lab: Lab, args: string[], opts: ContainerOptions = {}): TestContainer {
  const id = `t${process.pid}x${serial++}`;
  const bundle = path.join(lab.dir, 'containers', id, 'userdata');
  const runDir = path.join(lab.dir, 'run', id);
  mkdirSync(bundle, { recursive: true });
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const mounts: object[] = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] },
  ];
  if (opts.init) mounts.push({ destination: '/dev/init', type: 'bind', source: '/usr/bin/catatonit', options: ['bind', 'ro'] });
  const caps = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_NET_BIND_SERVICE'];
  const spec = {
    ociVersion: '1.0.2',
    process: {
      terminal: Boolean(opts.tty),
      user: { uid: 0, gid: 0 },
      args: opts.init ? ['/dev/init', '--', ...args] : args,
      env: ['PATH=/bin', 'TERM=xterm', 'HOME=/'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: true,
    },
    root: { path: lab.rootfs, readonly: true },
    hostname: id,
    mounts,
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list'],
      readonlyPaths: ['/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
  const logPath = path.join(bundle, 'ctr.log');
  const container: TestContainer = {
    id,
    bundle,
    runDir,
    logPath,
    request: { rc: lab.rc, id, name: id, bundle, runDir, logPath, terminal: Boolean(opts.tty), stdin: Boolean(opts.stdin) },
  };
  lab.containers.push(container);
  return container;
}

/** makeContainer + launchConmon: the container exists (created), its process waits for start. */
export async function launch(lab: Lab, args: string[], opts: ContainerOptions = {}): Promise<TestContainer> {
  const c = makeContainer(lab, args, opts);
  Object.assign(c, await launchConmon(c.request));
  return c;
}

export function readLog(c: TestContainer): string {
  return existsSync(c.logPath) ? readFileSync(c.logPath, 'utf8') : '';
}

/** The log's records as "stream tag text", without timestamps. */
export function logRecords(c: TestContainer): string[] {
  return readLog(c)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.slice(l.indexOf(' ') + 1));
}

/** Whether pid is a live process (zombies count as gone: they have exited). */
export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits (up to a generous bound) for the process to be gone; false if it is still there. */
export async function gone(pid: number | undefined, ms = 10_000): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}

/** Processes whose command line mentions `text` (e.g. the lab directory: conmon and the runtime). */
export function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(text) && alive(Number(entry))) found.push(`${entry}: ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Waits (up to a generous bound) until no process mentions `text`; returns those still there. */
export async function noProcessesMentioning(text: string, ms = 10_000): Promise<string[]> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
    if (processesMentioning(text).length === 0) return [];
    await new Promise((r) => setTimeout(r, 20));
  }
  return processesMentioning(text);
}

/** Mounts under `dir` in our mount namespace and in the pause process's (rootless). */
export function mountsUnder(lab: Lab, dir: string): string[] {
  const tables = ['/proc/self/mountinfo'];
  if (lab.rc.ns.pausePid) tables.push(`/proc/${lab.rc.ns.pausePid}/mountinfo`);
  return tables.flatMap((t) =>
    readFileSync(t, 'utf8')
      .split('\n')
      .filter((l) => l.split(' ')[4]?.startsWith(dir)),
  );
}

/** The runtime's view: undefined once the container is deleted. */
export async function stateOf(lab: Lab, c: TestContainer): Promise<string | undefined> {
  return (await runtimeState(lab.rc, c.id))?.status;
}

/** The attach socket's directory link conmon made, for checks that it cleans up after itself. */
export function attachLink(c: TestContainer): string | undefined {
  try {
    return readlinkSync(path.join(c.runDir, c.id));
  } catch {
    return undefined;
  }
}
