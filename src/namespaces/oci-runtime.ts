/**
 * One OCI runtime (runc, crun) driven through its command line, inside the user + mount namespace
 * the containers live in (ns.wrap). `create` is conmon's job (conmon.ts); everything else about a
 * container's lifecycle after that is here.
 *
 * crun 1.8 refuses every container on hybrid cgroup hosts unless it cannot see the cgroup2 mount
 * at /sys/fs/cgroup/unified, so it runs in a mount namespace of its own where an empty tmpfs
 * covers that mount. The tmpfs is writable: as root, crun still creates the container's cgroup
 * directory for the unified hierarchy there (its v1 controllers work as usual).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { TspodError } from '../core/errors.js';
import { prerequisiteError } from '../core/prerequisites.js';
import { findExecutable, oneLine } from './helpers.js';
import type { NamespaceContext } from './userns.js';

export interface RuntimeContext {
  ns: NamespaceContext;
  runtime: { name: string; path: string };
  /** the runtime's --root: RUNROOT/runtime */
  stateRoot: string;
}

export type RuntimeStatus = 'created' | 'running' | 'paused' | 'stopped';

/** The container is not running (stopped, or unknown to the runtime): kill had nobody to signal. */
export class ContainerNotRunningError extends TspodError {
  constructor(readonly id: string) {
    super(`container ${id} is not running`);
    this.name = 'ContainerNotRunningError';
  }
}

const UNIFIED_CGROUP = '/sys/fs/cgroup/unified';

/** $0 is the runtime, "$@" its arguments; the mount fails harmlessly where there is nothing to hide. */
const HIDE_UNIFIED_SCRIPT = `mount -t tmpfs tmpfs ${UNIFIED_CGROUP} 2>/dev/null; exec "$0" "$@"`;

/**
 * The program that runs the runtime and the arguments that come before its subcommand, for
 * conmon's -r and --runtime-arg as well as for the commands below.
 */
export function runtimeInvocation(rc: RuntimeContext): { path: string; args: string[] } {
  const rootArg = `--root=${rc.stateRoot}`;
  if (rc.runtime.name !== 'crun' || !existsSync(UNIFIED_CGROUP)) return { path: rc.runtime.path, args: [rootArg] };
  const unshare = findExecutable('unshare');
  if (!unshare) throw prerequisiteError('helper-missing', 'unshare');
  return { path: unshare, args: ['-m', '/bin/sh', '-c', HIDE_UNIFIED_SCRIPT, rc.runtime.path, rootArg] };
}

interface RuntimeResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(rc: RuntimeContext, args: string[]): Promise<RuntimeResult> {
  const invocation = runtimeInvocation(rc);
  const argv = rc.ns.wrap([invocation.path, ...invocation.args, ...args]);
  return new Promise((resolve) => {
    execFile(argv[0], argv.slice(1), { cwd: '/', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === -1 ? err.message : '') });
    });
  });
}

/**
 * What the runtime said, without its log decoration: runc writes logrus lines
 * (time="…" level=error msg="…"), crun plain text.
 */
export function runtimeMessage(stderr: string): string {
  const messages = [...stderr.matchAll(/\bmsg="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, '$1'));
  return oneLine(messages.length > 0 ? messages.join('\n') : stderr);
}

function failure(rc: RuntimeContext, subcommand: string, id: string, result: RuntimeResult): TspodError {
  return new TspodError(`${rc.runtime.name} ${subcommand} ${id} failed: ${runtimeMessage(result.stderr) || `exit status ${result.code}`}`);
}

/** Whether the runtime has a state directory for the container (runc and crun both keep ROOT/ID). */
async function known(rc: RuntimeContext, id: string): Promise<boolean> {
  try {
    await access(path.join(rc.stateRoot, id));
    return true;
  } catch {
    return false;
  }
}

export async function runtimeStart(rc: RuntimeContext, id: string): Promise<void> {
  const result = await run(rc, ['start', id]);
  if (result.code !== 0) throw failure(rc, 'start', id, result);
}

export async function runtimeKill(rc: RuntimeContext, id: string, signal: number | string, opts: { all?: boolean } = {}): Promise<void> {
  const result = await run(rc, ['kill', ...(opts.all ? ['--all'] : []), id, String(signal)]);
  if (result.code === 0) return;
  const message = runtimeMessage(result.stderr);
  if (/not running|has stopped|does not exist|no such process/i.test(message) || !(await known(rc, id))) {
    throw new ContainerNotRunningError(id);
  }
  const state = await runtimeState(rc, id);
  if (!state || state.status === 'stopped') throw new ContainerNotRunningError(id);
  throw failure(rc, 'kill', id, result);
}

/**
 * Removes the container from the runtime; a container the runtime does not know is no error,
 * and costs no trip into the namespace (cleanup runs more than once, rm cleans up again).
 */
export async function runtimeDelete(rc: RuntimeContext, id: string, opts: { force?: boolean } = {}): Promise<void> {
  if (!(await known(rc, id))) return;
  const result = await run(rc, ['delete', ...(opts.force ? ['--force'] : []), id]);
  if (result.code === 0 || !(await known(rc, id))) return;
  throw failure(rc, 'delete', id, result);
}

/** The runtime's view of the container, or undefined when it does not know it. */
export async function runtimeState(rc: RuntimeContext, id: string): Promise<{ status: RuntimeStatus; pid: number } | undefined> {
  const result = await run(rc, ['state', id]);
  if (result.code !== 0) {
    if (!(await known(rc, id))) return undefined;
    throw failure(rc, 'state', id, result);
  }
  const state = JSON.parse(result.stdout) as { status?: string; pid?: number };
  const status = state.status as RuntimeStatus;
  if (!['created', 'running', 'paused', 'stopped'].includes(status)) {
    throw new TspodError(`${rc.runtime.name} state ${id}: unexpected status "${state.status}"`);
  }
  return { status, pid: state.pid ?? 0 };
}

export async function runtimePause(rc: RuntimeContext, id: string): Promise<void> {
  await freezer(rc, id, 'pause');
}

export async function runtimeResume(rc: RuntimeContext, id: string): Promise<void> {
  await freezer(rc, id, 'resume');
}

async function freezer(rc: RuntimeContext, id: string, subcommand: 'pause' | 'resume'): Promise<void> {
  const result = await run(rc, [subcommand, id]);
  if (result.code === 0) return;
  if (rc.ns.rootless && !existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    throw new TspodError(
      `cannot ${subcommand} container ${id}: rootless containers have no cgroup freezer on cgroup v1 (${runtimeMessage(result.stderr)})`,
      'run as root, or boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1)',
    );
  }
  throw failure(rc, subcommand, id, result);
}
