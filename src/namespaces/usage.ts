/**
 * What a container's processes use, for `stats`. As root its cgroup v1 controllers count
 * everything (cpuacct, memory, blkio, pids: where they are comes from the init's /proc/PID/cgroup).
 * Rootless on cgroup v1 the user has no cgroup of the container to read, so the figures come from
 * /proc of its processes: CPU time and resident memory summed over them; no limit, no block I/O.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CLOCK_TICKS, procFile, procStat } from './processes.js';

export interface Usage {
  /** CPU time used so far, nanoseconds */
  cpuNs: number;
  memUsage: number;
  /** undefined: cannot be measured (rootless) */
  memLimit?: number;
  netRx: number;
  netTx: number;
  blockRead?: number;
  blockWrite?: number;
  pids: number;
}

const PAGE_SIZE = 4096;
const CGROUP_ROOT = '/sys/fs/cgroup';

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Bytes received and sent on every interface of the process's network namespace but lo. */
function networkIo(pid: number): { netRx: number; netTx: number } {
  let netRx = 0;
  let netTx = 0;
  for (const line of (procFile(pid, 'net/dev') ?? '').split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (rest === undefined || name.trim() === 'lo') continue;
    const fields = rest.trim().split(/\s+/).map(Number);
    netRx += fields[0];
    netTx += fields[8];
  }
  return { netRx, netTx };
}

/** controller -> its directory for the process, from /proc/PID/cgroup (v1 lines "N:cpu,cpuacct:/path"). */
function cgroupDirs(pid: number): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const line of (procFile(pid, 'cgroup') ?? '').split('\n')) {
    const [, controllers, cgroupPath] = line.split(/:(.*?):/);
    if (!controllers || cgroupPath === undefined) continue;
    for (const controller of controllers.split(',')) dirs.set(controller, path.join(CGROUP_ROOT, controllers, cgroupPath));
  }
  return dirs;
}

function keyedNumbers(text: string | undefined): Map<string, number> {
  return new Map(
    (text ?? '')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length === 2)
      .map(([k, v]) => [k, Number(v)]),
  );
}

/** Usage from the cgroup v1 controllers of the container's init (as root). */
export function cgroupUsage(initPid: number, hostMemory: number): Usage | undefined {
  const dirs = cgroupDirs(initPid);
  const file = (controller: string, name: string) => {
    const dir = dirs.get(controller);
    return dir ? readText(path.join(dir, name)) : undefined;
  };
  const cpu = file('cpuacct', 'cpuacct.usage');
  const usage = file('memory', 'memory.usage_in_bytes');
  if (cpu === undefined || usage === undefined) return undefined;
  const memStat = keyedNumbers(file('memory', 'memory.stat'));
  // Docker's figure: the page cache that could be dropped does not count.
  const inactiveFile = memStat.get('total_inactive_file') ?? 0;
  const memUsage = Number(usage) > inactiveFile ? Number(usage) - inactiveFile : Number(usage);
  const limits = [Number(file('memory', 'memory.limit_in_bytes') ?? Infinity), memStat.get('hierarchical_memory_limit') ?? Infinity, hostMemory];
  let blockRead = 0;
  let blockWrite = 0;
  for (const line of (file('blkio', 'blkio.throttle.io_service_bytes_recursive') ?? '').split('\n')) {
    const [, op, bytes] = line.trim().split(/\s+/);
    if (op === 'Read') blockRead += Number(bytes);
    if (op === 'Write') blockWrite += Number(bytes);
  }
  return {
    cpuNs: Number(cpu),
    memUsage,
    memLimit: Math.min(...limits),
    ...networkIo(initPid),
    blockRead,
    blockWrite,
    pids: Number(file('pids', 'pids.current') ?? 0),
  };
}

/** Usage summed over the container's processes from /proc (rootless on cgroup v1). */
export function procUsage(pids: number[]): Usage {
  let cpuTicks = 0;
  let memUsage = 0;
  let counted = 0;
  for (const pid of pids) {
    const stat = procStat(pid);
    if (!stat) continue;
    counted++;
    cpuTicks += Number(stat[13]) + Number(stat[14]);
    memUsage += Number(stat[23]) * PAGE_SIZE;
  }
  return { cpuNs: (cpuTicks / CLOCK_TICKS) * 1e9, memUsage, ...(pids[0] ? networkIo(pids[0]) : { netRx: 0, netTx: 0 }), pids: counted };
}
