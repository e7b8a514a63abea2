/**
 * A container's processes as the host sees them: the members of its init's pid namespace, their
 * /proc entries, signals to them, and the host's ps(1) restricted to them.
 *
 * Rootless, processes that run as subordinate ids belong to other host users, yet this user owns
 * the user namespace they live in, which gives it ptrace-read and kill rights over them (a user
 * namespace's owner holds every capability in it): /proc/PID/ns, /proc/PID/root and kill() work
 * from here, without entering the namespace.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { HELPER_PATH, findExecutable, oneLine } from './helpers.js';
import { TspodError } from '../core/errors.js';

/** USER_HZ: the unit of CPU times in /proc/PID/stat (100 on every Linux architecture tspod runs on). */
export const CLOCK_TICKS = 100;

function pidNamespace(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** Host pids of every process in the pid namespace of `initPid` (init first); [] when it is gone. */
export function containerPids(initPid: number): number[] {
  const ns = initPid > 0 ? pidNamespace(initPid) : undefined;
  if (!ns) return [];
  const pids = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => pid === initPid || pidNamespace(pid) === ns);
  return [initPid, ...pids.filter((pid) => pid !== initPid).sort((a, b) => a - b)];
}

/** Signals each pid; one that is gone meanwhile is no error. */
export function signalPids(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }
}

/** /proc/PID/stat's fields (field 1 is [0]; comm may hold spaces and parentheses). */
export function procStat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    return [text.slice(0, text.indexOf(' ')), text.slice(text.indexOf('(') + 1, close), ...text.slice(close + 2).trim().split(' ')];
  } catch {
    return undefined;
  }
}

/** A /proc/PID file's text, or undefined when the process is gone or the file unreadable. */
export function procFile(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** /proc/PID/status as key -> value. */
export function procStatus(pid: number): Map<string, string> | undefined {
  const text = procFile(pid, 'status');
  if (text === undefined) return undefined;
  return new Map(
    text
      .split('\n')
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
  );
}

/**
 * The host's ps(1) with `args`, restricted to `pids` with -q as Docker does; some options (f)
 * cannot be combined with -q, then ps runs on every process and the caller filters. Its stdout.
 */
export async function hostPs(args: string[], pids: number[]): Promise<string> {
  const ps = findExecutable('ps');
  if (!ps) throw new TspodError('top needs ps(1), which is not installed', 'apt-get install procps');
  const runPs = (argv: string[]) =>
    new Promise<{ ok: boolean; stdout: string; stderr: string }>((resolve) => {
      execFile(ps, argv, { env: { PATH: HELPER_PATH, LC_ALL: 'C' }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ ok: !err, stdout, stderr }));
    });
  const quick = await runPs([...args, '-q', pids.join(',')]);
  if (quick.ok) return quick.stdout;
  const all = await runPs(args);
  if (all.ok) return all.stdout;
  throw new TspodError(`ps ${args.join(' ')} failed: ${oneLine(all.stderr)}`, 'give ps(1) options, or descriptors such as user,pid,args');
}
