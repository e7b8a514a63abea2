/**
 * exec: a command in a running container, as Docker runs it: the container's own process
 * settings (its config.json: env, user, working directory, capabilities, rlimits,
 * no_new_privileges) with the exec's changes, through the runtime's `exec`. Only what that
 * needs is read: the container record and its config.json; the image's layers only for -u.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine.js';
import { TspodError } from '../errors.js';
import { containerEvent, recordEvent } from '../events.js';
import { resolveUser } from '../container-user.js';
import { processCapabilities, readHostFacts, type OciSpec } from '../oci-spec.js';
import { readRootfsFile } from '../rootfs-files.js';
import { ALL_CAPABILITIES, mergeEnv } from '../run-options.js';
import type { ContainerRecord } from '../../store/container-store.js';
import { runtimeExec } from '../../namespaces/exec.js';
import { findContainer } from './lookup.js';
import { runtimeContext } from './runtime-context.js';
import { lowerDirs } from './start.js';

export interface ExecOptions {
  /** the command and its arguments */
  command: string[];
  /** -e and --env-file, parsed (parseEnv): VAR=value, or a bare VAR that removes VAR */
  env: string[];
  /** name, uid, name:group or uid:gid, resolved in the container; default the container's user */
  user?: string;
  /** absolute; default the container's working directory */
  workdir?: string;
  tty: boolean;
  interactive: boolean;
  detach: boolean;
  /** every capability the host allows, whatever the container has */
  privileged: boolean;
}

type OciProcess = OciSpec['process'];

/** Docker's words for why there is nothing to exec in, and what to do. */
function requireRunning(c: ContainerRecord): void {
  switch (c.state.status) {
    case 'running':
    case 'stopping':
      return;
    case 'paused':
      throw new TspodError(`container ${c.name} is paused`, `unpause it first: tspod unpause ${c.name}`);
    default:
      throw new TspodError(`container ${c.name} is not running (${c.state.status})`, `start it first: tspod start ${c.name}`);
  }
}

/**
 * config.json's process, and how to write a changed one back. Its rlimits may hold 2^64-1
 * (RLIM_INFINITY), more than a JSON number keeps exactly: long integers travel as marked
 * strings and are written back as the same digits.
 */
function readProcess(file: string): { process: OciProcess; serialize(p: OciProcess): string } {
  const mark = `bigint-${randomUUID()}:`;
  const text = readFileSync(file, 'utf8').replace(/"(?:[^"\\]|\\.)*"|-?\d{16,}/g, (token) => (token.startsWith('"') ? token : `"${mark}${token}"`));
  const spec = JSON.parse(text) as { process: OciProcess };
  return {
    process: spec.process,
    serialize: (p) => JSON.stringify(p).replace(new RegExp(`"${mark}(-?\\d+)"`, 'g'), '$1'),
  };
}

/** The exec's process: the container's, with Docker's exec options applied. */
function execProcess(engine: Engine, record: ContainerRecord, base: OciProcess, opts: ExecOptions): OciProcess {
  const proc: OciProcess = { ...base, args: opts.command, cwd: opts.workdir || base.cwd };
  delete proc.terminal;
  if (opts.tty) proc.terminal = true;
  let home: string | undefined;
  if (opts.user) {
    const layers = [engine.containers.containerPaths(record.id).upper, ...lowerDirs(engine, record)];
    const user = resolveUser(opts.user, readRootfsFile(layers, 'etc/passwd') ?? '', readRootfsFile(layers, 'etc/group') ?? '');
    proc.user = { uid: user.uid, gid: user.gid, umask: base.user.umask, ...(user.additionalGids.length > 0 ? { additionalGids: user.additionalGids } : {}) };
    home = user.home;
  }
  if (opts.user || opts.privileged) {
    const bounding = opts.privileged ? ALL_CAPABILITIES.filter((c) => readHostFacts().boundingCapabilities.includes(c)) : base.capabilities.bounding;
    proc.capabilities = processCapabilities(bounding, proc.user.uid, opts.privileged ? ['ALL'] : record.config.capAdd);
  }
  // Another user gets its own HOME, unless the image or `run -e` set one (record.config.env
  // is the container's environment before start added the HOME of its user).
  proc.env = mergeEnv(opts.user ? record.config.env : base.env, opts.env, { terminal: opts.tty, home });
  return proc;
}

/**
 * Runs the command in the container; its exit code (0 once started with detach). Errors: no
 * such container or not running (125), a command that is not found (127) or cannot be invoked
 * (126).
 */
export async function execContainer(engine: Engine, input: string, opts: ExecOptions): Promise<number> {
  if (opts.workdir && !path.isAbsolute(opts.workdir)) {
    throw new TspodError(`the working directory "${opts.workdir}" is invalid`, 'it must be an absolute path');
  }
  const record = findContainer(engine.containers.read(), input);
  if (!record) throw new TspodError(`no such container: ${input}`, 'see tspod ps -a');
  requireRunning(record);
  const paths = engine.containers.containerPaths(record.id);
  const { process: base, serialize } = readProcess(path.join(paths.userdata, 'config.json'));
  const proc = execProcess(engine, record, base, opts);
  const rc = await runtimeContext(engine, record);
  const running = runtimeExec({
    rc,
    id: record.id,
    name: record.name,
    processJson: serialize(proc),
    runDir: paths.runDir,
    tty: opts.tty,
    stdin: opts.interactive,
    detach: opts.detach,
  });
  // While the runtime starts the process; a failed start still had its exec_start (as in Docker).
  const event = recordEvent(engine, containerEvent(record, 'exec_start', { command: opts.command.join(' ') }));
  try {
    return await running;
  } finally {
    await event;
  }
}
