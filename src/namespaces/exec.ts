/**
 * `runtime exec`: a new process in a running container (its namespaces, rootfs and cgroup),
 * through `runc/crun exec --process`, run inside the user + mount namespace (ns.wrap) like every
 * runtime call. No monitor: in the foreground the runtime itself relays stdio (a pipe, or with
 * a terminal the pty it creates, in raw mode and following the window's size) and exits with the
 * process's status; with --detach it returns once the process runs. Only a detached process with
 * a terminal has a monitor, conmon, to hold the terminal after tspod has exited.
 *
 * The process spec and the runtime's own log (JSON lines) are files of the exec in the
 * container's run directory, so stderr carries only the process's output. A runtime that fails
 * still prints its error once more on stderr ("exec failed: ..."): that line is held back and
 * dropped when the log has the same error.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EXIT_CANNOT_INVOKE, EXIT_ENGINE, TspodError } from '../core/errors.js';
import { createError, launchExecConmon } from './conmon.js';
import { runtimeInvocation, runtimeMessage, type RuntimeContext } from './oci-runtime.js';

export interface ExecRequest {
  rc: RuntimeContext;
  /** container ID (the runtime's name for it) */
  id: string;
  /** container name, for messages */
  name: string;
  /** the OCI process (config.json's "process" with the exec's changes), as JSON */
  processJson: string;
  /** RUNROOT/containers/ID: where the exec's spec and log files live while it starts */
  runDir: string;
  tty: boolean;
  /** the process reads our stdin (-i); otherwise its stdin is empty */
  stdin: boolean;
  detach: boolean;
}

/** Signals that reach tspod (a terminal's ctrl-c without -t, kill, a hangup) and go on to the process. */
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** runc's prefix for every exec failure, on stderr and in the log. */
const FAILURE_PREFIX = 'exec failed: ';

/**
 * Runs the process; resolves with its exit code (128+N when killed by signal N), or 0 once a
 * detached one runs. A process the runtime cannot start is a TspodError: 127 (not found), 126
 * (cannot be invoked), 125 (the container is not running, or another runtime error).
 */
export async function runtimeExec(req: ExecRequest): Promise<number> {
  if (req.detach && req.tty) return detachedTerminalExec(req);
  const base = path.join(req.runDir, `exec-${randomBytes(6).toString('hex')}`);
  const specFile = `${base}.json`;
  const logFile = `${base}.log`;
  await writeFile(specFile, req.processJson, { mode: 0o600 });
  try {
    const status = await run(req, specFile, logFile);
    const errors = status.code === 0 ? [] : failures(await readFile(logFile, 'utf8').catch(() => ''));
    if (errors.length === 0) {
      await status.stderr.flush();
      return status.code;
    }
    status.stderr.drop(errors);
    await status.stderr.flush();
    throw execError(req, errors);
  } finally {
    await Promise.all([rm(specFile, { force: true }), rm(logFile, { force: true })]);
  }
}

/** `exec -d -t`: conmon holds the terminal (see launchExecConmon); 0 once the process runs. */
async function detachedTerminalExec(req: ExecRequest): Promise<number> {
  const sessionDir = path.join(req.runDir, `exec-${randomBytes(6).toString('hex')}`);
  await mkdir(sessionDir, { mode: 0o700 });
  try {
    const specFile = path.join(sessionDir, 'process.json');
    await writeFile(specFile, req.processJson, { mode: 0o600 });
    const { failure } = await launchExecConmon({ rc: req.rc, id: req.id, sessionDir, specFile });
    if (failure === undefined) return 0;
    throw execError(req, [runtimeMessage(failure)]);
  } catch (e) {
    // conmon removes the directory when the process ends; nothing ran, so it is ours to remove.
    await rm(sessionDir, { recursive: true, force: true });
    throw e;
  }
}

async function run(req: ExecRequest, specFile: string, logFile: string): Promise<{ code: number; stderr: StderrRelay }> {
  const invocation = runtimeInvocation(req.rc);
  const args = [
    ...invocation.args,
    '--log', logFile,
    '--log-format', 'json',
    'exec',
    '--process', specFile,
    ...(req.detach ? ['--detach'] : []),
    ...(req.tty ? ['--tty'] : []),
    req.id,
  ];
  const argv = req.rc.ns.wrap([invocation.path, ...args]);
  const stdin = req.stdin && !req.detach ? 'inherit' : 'ignore';
  const out = req.detach ? 'ignore' : 'inherit';
  // A session of its own: signals from our terminal reach tspod only, which passes each on once
  // (the runtime forwards them to the process); SIGWINCH too, for the runtime's pty.
  const child = spawn(argv[0], argv.slice(1), { cwd: '/', detached: true, stdio: [stdin, out, req.detach ? 'ignore' : 'pipe'] });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  try {
    const stderr = child.stderr ? relayStderr(child.stderr) : { drop: () => undefined, flush: async () => undefined };
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', (e) => reject(new TspodError(`cannot run ${req.rc.runtime.name}: ${e.message}`)));
      child.once('close', (exit, signal) => resolve(exit ?? 128 + (signal ? os.constants.signals[signal] : 0)));
    });
    return { code, stderr };
  } finally {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
  }
}

/** The error messages of the runtime's JSON log, "exec failed: " and all. */
function failures(log: string): string[] {
  const messages: string[] = [];
  for (const line of log.split('\n')) {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) messages.push(entry.msg);
    } catch {
      // not a log line
    }
  }
  return messages;
}

interface StderrRelay {
  /** Forget held-back output that repeats one of these runtime errors. */
  drop(errors: string[]): void;
  /** Resolves once everything (held back or not) is written. */
  flush(): Promise<void>;
}

/**
 * Copies the process's stderr to ours as it comes, except a chunk that starts like the runtime's
 * own failure line: that waits until the runtime has exited and is dropped if it was one.
 */
function relayStderr(stream: NodeJS.ReadableStream): StderrRelay {
  let held: Buffer[] = [];
  let written: Promise<void> = Promise.resolve();
  const write = (chunk: Buffer) => {
    written = new Promise((resolve) => process.stderr.write(chunk, () => resolve()));
  };
  stream.on('data', (chunk: Buffer) => {
    if (held.length > 0 || chunk.subarray(0, FAILURE_PREFIX.length).toString() === FAILURE_PREFIX) held.push(chunk);
    else write(chunk);
  });
  const ended = new Promise<void>((resolve) => {
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  return {
    drop(errors) {
      const text = Buffer.concat(held).toString();
      if (errors.includes(text.trim())) held = [];
    },
    async flush() {
      await ended;
      if (held.length > 0) write(Buffer.concat(held));
      held = [];
      await written;
    },
  };
}

/** Docker's exit codes for a process that could not be started, and our one-line message. */
function execError(req: ExecRequest, errors: string[]): TspodError {
  const message = errors.join('; ');
  if (/cannot exec in a stopped (container|state)|container does not exist|container .* is not running/i.test(message)) {
    return new TspodError(`container ${req.name} is not running`, `start it first: tspod start ${req.name}`);
  }
  if (/cannot exec in a paused (container|state)/i.test(message)) {
    return new TspodError(`container ${req.name} is paused`, `unpause it first: tspod unpause ${req.name}`);
  }
  // Docker's and Podman's codes come from the whole message (a missing working directory is
  // 127 too, for its "no such file or directory"); every message here is about the exec (crun's
  // do not say so). runc's wrapping is left out of what is shown.
  const { exitCode, hint } = createError(req.rc.runtime.name, message.startsWith(FAILURE_PREFIX) ? message : `${FAILURE_PREFIX}${message}`);
  const shown = `${req.rc.runtime.name}: ${message.replaceAll(FAILURE_PREFIX, '').replaceAll('unable to start container process: ', '')}`;
  // Found and allowed, and still not started (a capability, a user or group the kernel refused):
  // the command could not be invoked.
  if (exitCode === EXIT_ENGINE && message.includes('unable to start container process: ')) {
    return new TspodError(shown, 'OCI runtime could not invoke the command', EXIT_CANNOT_INVOKE);
  }
  return new TspodError(shown, hint, exitCode);
}
