/**
 * conmon, the per-container monitor (Podman's, 2.1.x). It runs `runtime create`, reports the
 * container's pid on the sync pipe (_OCI_SYNCPIPE: one JSON line, {"data": PID} or
 * {"data": -1, "message": "<runtime stderr>"}), then stays alive holding the container's stdio:
 * it writes the k8s-file log, serves the attach socket (SOCK_SEQPACKET at
 * <socket-dir>/<cuuid>/attach, a symlink to the bundle), reads the `ctl` fifo in the bundle
 * ("1 ROWS COLS\n" resizes the terminal), writes the exit code to <exit-dir>/<id> and finally
 * runs the exit command. It forks itself away from its parent, so the container outlives tspod.
 */
import { spawn } from 'node:child_process';
import { constants, readFileSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { changeNotifier } from '../core/change-notifier.js';
import { EXIT_CANNOT_INVOKE, EXIT_ENGINE, EXIT_NOT_FOUND, TspodError } from '../core/errors.js';
import { prerequisiteError } from '../core/prerequisites.js';
import { findExecutable, oneLine } from './helpers.js';
import { runtimeDelete, runtimeInvocation, runtimeMessage, type RuntimeContext } from './oci-runtime.js';

export interface ConmonRequest {
  rc: RuntimeContext;
  id: string;
  name: string;
  /** ROOT/containers/ID/userdata: config.json; conmon adds the ctl and winsz fifos and the attach socket */
  bundle: string;
  /** RUNROOT/containers/ID: conmon.pid, pidfile, exits/, the attach socket's symlink */
  runDir: string;
  /** bundle/ctr.log */
  logPath: string;
  terminal: boolean;
  stdin: boolean;
  /**
   * argv conmon runs after the container exits (also when `runtime create` fails), inside the
   * namespace (rootless: as uid 0 of the user namespace), with conmon's environment, which is
   * tspod's; argv[0] must be absolute (execv).
   */
  exitCommand?: string[];
  logLevel?: string;
}

/** conmon's maximum attach socket path (sizeof sun_path - 1); it shortens a parent dir path that long by one. */
const SUN_PATH_MAX = 107;

/** How long `runtime create` may take before tspod gives up on it (Podman's ContainerCreateTimeout). */
const CREATE_TIMEOUT_MS = 240_000;

export function attachSocketPath(runDir: string, id: string): string {
  let dir = path.join(runDir, id);
  if (dir.length === SUN_PATH_MAX) dir = dir.slice(0, -1);
  return path.join(dir, 'attach');
}

export function exitFilePath(runDir: string, id: string): string {
  return path.join(runDir, 'exits', id);
}

const conmonPidFile = (runDir: string) => path.join(runDir, 'conmon.pid');
const containerPidFile = (runDir: string) => path.join(runDir, 'pidfile');

/**
 * Starts conmon for the container and resolves once the runtime has created it (its process is
 * waiting for `runtime start`). A runtime error becomes a TspodError: 127 when the command does
 * not exist, 126 when it cannot be executed, 125 otherwise.
 */
export async function launchConmon(req: ConmonRequest): Promise<{ pid: number; conmonPid: number }> {
  const conmon = findExecutable('conmon');
  if (!conmon) throw prerequisiteError('helper-missing', 'conmon');
  if (req.exitCommand && !path.isAbsolute(req.exitCommand[0] ?? '')) {
    throw new Error(`conmon runs the exit command with execv: "${req.exitCommand[0]}" must be an absolute path`);
  }
  await mkdir(path.join(req.runDir, 'exits'), { recursive: true, mode: 0o700 });
  // Leftovers of a previous run of the same container would be taken for this one's.
  await Promise.all(
    [exitFilePath(req.runDir, req.id), conmonPidFile(req.runDir), containerPidFile(req.runDir)].map((f) => rm(f, { force: true })),
  );

  const runtime = runtimeInvocation(req.rc);
  const args = [
    '--api-version', '1',
    '-c', req.id,
    '-u', req.id,
    '-n', req.name,
    '-r', runtime.path,
    ...runtime.args.flatMap((a) => ['--runtime-arg', a]),
    '-b', req.bundle,
    '-p', containerPidFile(req.runDir),
    '--conmon-pidfile', conmonPidFile(req.runDir),
    '--exit-dir', path.join(req.runDir, 'exits'),
    '--socket-dir-path', req.runDir,
    '-l', `k8s-file:${req.logPath}`,
    '--log-level', req.logLevel ?? 'error',
  ];
  // With a terminal, stdin is the terminal: conmon's -i only concerns the stdin pipe.
  if (req.terminal) args.push('-t');
  else if (req.stdin) args.push('-i');
  if (req.exitCommand) {
    args.push('--exit-command', req.exitCommand[0], ...req.exitCommand.slice(1).flatMap((a) => ['--exit-command-arg', a]));
  }

  let result: ConmonResult;
  try {
    result = await runConmon(req.rc, conmon, args, conmonPidFile(req.runDir), 'create the container');
  } catch (e) {
    await runtimeDelete(req.rc, req.id, { force: true }).catch(() => undefined);
    await removeConmonFiles(req);
    throw e;
  }
  const { message, status, output } = result;
  if (message?.data !== undefined && message.data > 0) {
    return { pid: message.data, conmonPid: await readConmonPid(req.runDir) };
  }
  await removeConmonFiles(req);
  await runtimeDelete(req.rc, req.id, { force: true }).catch(() => undefined);
  if (message?.message) throw createError(req.rc.runtime.name, message.message);
  throw new TspodError(
    `conmon failed to create container ${req.id}${status === 0 ? '' : ` (exit status ${status})`}`,
    oneLine(output.replace(/^\[conmon:d\].*$/gm, '')) || undefined,
  );
}

interface ConmonResult {
  /** the first message on the sync pipe: the process's pid, or the runtime's failure */
  message?: SyncMessage;
  /** how conmon's first process ended (it exits as soon as it has forked the monitor) */
  status: number;
  /** what conmon printed */
  output: string;
}

/**
 * Runs conmon with these arguments inside the namespace and waits for the runtime's answer on the
 * sync pipe. A runtime that hangs is given up on: conmon (pid in pidFile) is killed.
 */
async function runConmon(rc: RuntimeContext, conmon: string, args: string[], pidFile: string, what: string): Promise<ConmonResult> {
  const argv = rc.ns.wrap([conmon, ...args]);
  const env: NodeJS.ProcessEnv = { ...process.env, _OCI_SYNCPIPE: '3' };
  delete env.NOTIFY_SOCKET;
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  const child = spawn(argv[0], argv.slice(1), { cwd: '/', env, detached: true, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const syncPipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const sync = readSyncMessage(syncPipe);
  try {
    const status = await new Promise<number | string>((resolve) => {
      child.once('error', (e) => resolve(e.message));
      child.once('exit', (code, signal) => resolve(code ?? `killed by ${signal}`));
    });
    if (typeof status === 'string') throw new TspodError(`cannot start conmon: ${status}`);
    const message = await withTimeout(sync, CREATE_TIMEOUT_MS, what).catch(async (e: unknown) => {
      await killConmon(pidFile);
      throw e;
    });
    return { message, status, output };
  } finally {
    child.stdout!.destroy();
    child.stderr!.destroy();
    syncPipe.destroy();
    child.unref();
  }
}

export interface ExecConmonRequest {
  rc: RuntimeContext;
  /** the container's ID */
  id: string;
  /**
   * A new directory of this exec alone, which conmon removes when the process has exited: the
   * process spec is in it, conmon puts its pid files, exit file, fifos and attach socket there.
   */
  sessionDir: string;
  /** sessionDir's process spec (the OCI process, terminal: true) */
  specFile: string;
}

/**
 * Starts a process in the running container with a terminal and no one attached (`exec -d -t`),
 * as Podman does: conmon in exec mode runs `runtime exec --detach --tty --console-socket` and
 * holds the terminal's master side (its output is discarded) until the process exits, outliving
 * tspod. Resolves with the process's pid; a runtime failure is the runtime's message (as JSON
 * log lines are not asked for, conmon passes its stderr).
 */
export async function launchExecConmon(req: ExecConmonRequest): Promise<{ pid?: number; failure?: string }> {
  const conmon = findExecutable('conmon');
  if (!conmon) throw prerequisiteError('helper-missing', 'conmon');
  const rm = findExecutable('rm');
  if (!rm) throw prerequisiteError('helper-missing', 'rm');
  const session = path.basename(req.sessionDir);
  await mkdir(path.join(req.sessionDir, 'exits'), { recursive: true, mode: 0o700 });
  const runtime = runtimeInvocation(req.rc);
  const pidFile = path.join(req.sessionDir, 'conmon.pid');
  const args = [
    '--api-version', '1',
    '-c', req.id,
    '-u', session,
    '-r', runtime.path,
    ...runtime.args.flatMap((a) => ['--runtime-arg', a]),
    '-b', req.sessionDir,
    '-p', path.join(req.sessionDir, 'pidfile'),
    '--conmon-pidfile', pidFile,
    '--exit-dir', path.join(req.sessionDir, 'exits'),
    '--socket-dir-path', req.sessionDir,
    '-l', 'none',
    '--log-level', 'error',
    '-t',
    '--exec',
    '--exec-process-spec', req.specFile,
    '--exit-command', rm,
    '--exit-command-arg', '-rf',
    '--exit-command-arg', req.sessionDir,
  ];
  const { message, status, output } = await runConmon(req.rc, conmon, args, pidFile, 'start the process');
  if (message?.data !== undefined && message.data > 0) return { pid: message.data };
  return { failure: message?.message ?? (oneLine(output) || `conmon exited with status ${status} without starting the process`) };
}

/** What a conmon that failed to create the container leaves behind: its attach socket and fifos. */
async function removeConmonFiles(req: ConmonRequest): Promise<void> {
  const files = ['attach', 'ctl', 'winsz'].map((f) => path.join(req.bundle, f));
  files.push(path.dirname(attachSocketPath(req.runDir, req.id)), conmonPidFile(req.runDir), containerPidFile(req.runDir));
  await Promise.all(files.map((f) => rm(f, { force: true })));
}

interface SyncMessage {
  data?: number;
  message?: string;
}

/** The first JSON line conmon writes on the sync pipe, or undefined when it closes without one. */
function readSyncMessage(stream: NodeJS.ReadableStream): Promise<SyncMessage | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const finish = () => {
      const line = text.split('\n')[0];
      try {
        resolve(line ? (JSON.parse(line) as SyncMessage) : undefined);
      } catch {
        resolve({ data: -1, message: `conmon sent ${JSON.stringify(line)} on the sync pipe` });
      }
    };
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      text += d;
      if (text.includes('\n')) finish();
    });
    stream.once('end', finish);
    stream.once('error', finish);
    stream.once('close', finish);
  });
}

/** Rejects when `promise` has not settled within `ms` (a hung runtime). */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TspodError(`the OCI runtime did not ${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function readConmonPid(runDir: string): Promise<number> {
  return Number((await readFile(conmonPidFile(runDir), 'utf8')).trim());
}

/** Ends a conmon that hangs in the runtime; its runtime child dies with it (PDEATHSIG). */
async function killConmon(pidFile: string): Promise<void> {
  try {
    process.kill(Number((await readFile(pidFile, 'utf8')).trim()), 'SIGKILL');
  } catch {
    // no pid file or already gone
  }
}

/**
 * A runtime's create error as the user sees it, with Docker's and Podman's exit codes: 127 when
 * the command is not found, 126 when it is found but cannot be executed. runc 1.1 looks the
 * command up (exec.LookPath: existence and execute permission) at create, so those errors arrive
 * here; execve itself happens at `runtime start`, and its failures (a missing ELF interpreter,
 * a bad format) show up as the container's stderr ("exec /x: exec format error") and exit code 1.
 */
export function createError(runtimeName: string, runtimeStderr: string): TspodError {
  const message = runtimeMessage(runtimeStderr);
  const line = `${runtimeName}: ${message}`;
  // Only about the command itself: a cgroup or mount path that does not exist is no 127.
  if (/\bexec(utable)?\b/i.test(message)) {
    if (/permission denied|operation not permitted/i.test(message)) {
      return new TspodError(line, 'OCI permission denied', EXIT_CANNOT_INVOKE);
    }
    if (/not found|no such file or directory/i.test(message)) {
      return new TspodError(line, 'OCI runtime attempted to invoke a command that was not found', EXIT_NOT_FOUND);
    }
  }
  return new TspodError(line, 'OCI runtime error', EXIT_ENGINE);
}

/** The exit code conmon recorded, or undefined while the container has not exited. */
export async function readExitCode(runDir: string, id: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(exitFilePath(runDir, id), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const code = Number.parseInt(text.trim(), 10);
  return Number.isNaN(code) ? undefined : code;
}

/** How often the exit file (and conmon) is looked at when no inotify event arrives. */
const EXIT_POLL_MS = 1000;

/**
 * Resolves with the container's exit code once conmon has written it. With conmonPid, a conmon
 * that dies without writing one is an error instead of an endless wait.
 */
export async function waitForExit(runDir: string, id: string, opts: { conmonPid?: number; signal?: AbortSignal } = {}): Promise<number> {
  const exitsDir = path.join(runDir, 'exits');
  await mkdir(exitsDir, { recursive: true, mode: 0o700 });
  const changes = changeNotifier(exitsDir, EXIT_POLL_MS, opts.signal);
  try {
    for (;;) {
      const code = await readExitCode(runDir, id);
      if (code !== undefined) return code;
      opts.signal?.throwIfAborted();
      if (opts.conmonPid !== undefined && !conmonAlive(opts.conmonPid)) {
        const late = await readExitCode(runDir, id);
        if (late !== undefined) return late;
        throw new TspodError(`conmon of container ${id} exited without recording the container's exit code`);
      }
      await changes.next();
    }
  } finally {
    changes.close();
  }
}

/**
 * Whether conmon `pid` still runs. Its pid may belong to another process by now (after a reboot
 * surely): only a live process named conmon counts; a zombie has exited.
 */
export function conmonAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    const match = /^\d+ \((.*)\) (\S)/s.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return match !== null && match[1] === 'conmon' && match[2] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Waits until none of these conmons runs. conmon waits for its exit command (`container
 * cleanup`), so after this no cleanup of theirs can touch the store any more.
 */
export async function waitForConmons(pids: number[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(conmonAlive) && Date.now() < deadline) await delay(50);
}

/**
 * Sets the container terminal's size through conmon's ctl fifo. Without conmon (the container has
 * exited) there is nothing to resize, which is no error.
 */
export async function resizeTerminal(bundle: string, rows: number, cols: number): Promise<void> {
  let handle;
  try {
    // O_NONBLOCK: opening a fifo nobody reads fails with ENXIO instead of blocking forever.
    handle = await open(path.join(bundle, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    if (['ENXIO', 'ENOENT'].includes((e as NodeJS.ErrnoException).code ?? '')) return;
    throw e;
  }
  try {
    // One message per write: conmon 2.1 mishandles several lines arriving in one read.
    await handle.write(`1 ${Math.max(1, Math.floor(rows))} ${Math.max(1, Math.floor(cols))}\n`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPIPE' && (e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
  } finally {
    await handle.close();
  }
}
