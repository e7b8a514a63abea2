/**
 * `top`: the processes of a running container. Without arguments or with ps(1) options it is
 * Docker's: the host's ps restricted to the container's processes (default -ef). When every
 * argument is one of Podman's descriptors (user, pid, args, ...; also comma-separated) it is
 * Podman's table, read from /proc, with pids, users and groups as the container sees them and the
 * h* descriptors (hpid, huser, hgroup) as the host does.
 */
import { readFileSync } from 'node:fs';
import type { Engine } from '../engine.js';
import { TspodError } from '../errors.js';
import type { ContainerRecord } from '../../store/container-store.js';
import { CLOCK_TICKS, containerPids, hostPs, procFile, procStat, procStatus } from '../../namespaces/processes.js';
import { parseIdMap, type IdMapping } from '../../namespaces/userns.js';
import { hasExited } from './exit.js';
import { isActive, requireContainer } from './lookup.js';

export interface TopTable {
  titles: string[];
  processes: string[][];
}

/** Podman's descriptors and their headers (with the AIX codes ps(1) also knows). */
const DESCRIPTORS: Record<string, string> = {
  args: 'COMMAND',
  capamb: 'AMBIENT CAPS',
  capbnd: 'BOUNDING CAPS',
  capeff: 'EFFECTIVE CAPS',
  capinh: 'INHERITED CAPS',
  capprm: 'PERMITTED CAPS',
  comm: 'COMMAND',
  etime: 'ELAPSED',
  group: 'GROUP',
  hgroup: 'HGROUP',
  hpid: 'HPID',
  huser: 'HUSER',
  label: 'LABEL',
  nice: 'NI',
  pcpu: '%CPU',
  pgid: 'PGID',
  pid: 'PID',
  ppid: 'PPID',
  rgroup: 'RGROUP',
  ruser: 'RUSER',
  seccomp: 'SECCOMP',
  state: 'STATE',
  stime: 'STIME',
  time: 'TIME',
  tty: 'TTY',
  user: 'USER',
  vsz: 'VSZ',
};

const AIX_CODES: Record<string, string> = {
  '%C': 'pcpu',
  '%G': 'group',
  '%P': 'ppid',
  '%U': 'user',
  '%a': 'args',
  '%c': 'comm',
  '%g': 'rgroup',
  '%n': 'nice',
  '%p': 'pid',
  '%r': 'pgid',
  '%t': 'etime',
  '%u': 'ruser',
  '%x': 'time',
  '%y': 'tty',
  '%z': 'vsz',
};

/** Podman's default descriptors: what `ps -ef` shows. */
export const DEFAULT_DESCRIPTORS = ['user', 'pid', 'ppid', 'pcpu', 'etime', 'tty', 'time', 'comm'];

/** The descriptors named by `args`, or undefined when they are ps(1) options. */
export function parseDescriptors(args: string[]): string[] | undefined {
  const words = args.flatMap((a) => a.split(/[\s,]+/)).filter((w) => w !== '');
  if (words.length === 0) return undefined;
  const names = words.map((w) => AIX_CODES[w] ?? w);
  return names.every((n) => n in DESCRIPTORS) ? names : undefined;
}

/** Docker's check: ps options may not rename the PID column away. */
function validatePsArgs(args: string[]): void {
  for (const m of ` ${args.join(' ')}`.matchAll(/\s+([^\s]*)=\s*(PID[^\s]*)/g)) {
    if (m[1] !== 'pid') throw new TspodError(`specifying "${m[1]}=${m[2]}" is not allowed`);
  }
}

/** Docker's parsePSOutput: the rows whose PID column names a process of the container. */
export function parsePsOutput(output: string, pids: number[]): TopTable {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const titles = (lines[0] ?? '').trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new TspodError("couldn't find PID field in ps output", 'include pid in the ps format (-o pid,...)');
  const wanted = new Set(pids);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (!wanted.has(Number(fields[pidIndex]))) continue;
    // The last column (the command) may contain spaces.
    processes.push([...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')]);
  }
  return { titles, processes };
}

function runningContainer(engine: Engine, input: string): ContainerRecord {
  const c = requireContainer(engine.containers.read(), input);
  if (!isActive(c)) throw new TspodError(`container ${input} is not running`, 'start it first');
  return c;
}

export async function topContainer(engine: Engine, input: string, args: string[]): Promise<TopTable> {
  const c = runningContainer(engine, input);
  const pids = containerPids(c.state.pid);
  if (pids.length === 0 || (await hasExited(engine, c))) throw new TspodError(`container ${input} is not running`, 'start it first');
  const descriptors = parseDescriptors(args);
  if (descriptors) return descriptorTable(descriptors, pids);
  const psArgs = args.length ? args : ['-ef'];
  validatePsArgs(psArgs);
  return parsePsOutput(await hostPs(psArgs, pids), pids);
}


/** Go's time.Duration.String() of `ns`, as Podman prints durations (20.386825206s, 1h2m3s, 0s). */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const seconds = Math.floor(ns / 1e9);
  const fraction = ns % 1e9 ? `.${String(Math.round(ns % 1e9)).padStart(9, '0').replace(/0+$/, '')}` : '';
  if (seconds < 60) return `${seconds}${fraction}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${h ? `${h}h` : ''}${m}m${seconds % 60}${fraction}s`;
}

function bootTimeSeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('btime '));
  return Number(line?.split(' ')[1] ?? 0);
}

/** A name from a passwd or group file for `id`, else the number. */
function nameOf(file: string | undefined, id: number): string {
  for (const line of (file ?? '').split('\n')) {
    const fields = line.split(':');
    if (fields.length > 2 && Number(fields[2]) === id && fields[2] !== '') return fields[0];
  }
  return String(id);
}

/** A host id as the container sees it (its user namespace's map), -1 when unmapped. */
function toContainerId(hostId: number, map: IdMapping[]): number {
  const m = map.find((r) => hostId >= r.hostID && hostId < r.hostID + r.size);
  return m ? m.containerID + hostId - m.hostID : -1;
}

function readHostFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

const CAP_NAMES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
];

/** psgo's capability sets: "none", "full" (every known one), or the names. */
function capabilities(hex: string | undefined): string {
  if (hex === undefined) return '?';
  const bits = BigInt(`0x${hex}`);
  const names = CAP_NAMES.filter((_, i) => (bits >> BigInt(i)) & 1n);
  if (names.length === 0) return 'none';
  return names.length === CAP_NAMES.length ? 'full' : names.join(',');
}

function ttyName(ttyNr: number): string {
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`;
  if (major === 4 && minor < 64) return `tty${minor}`;
  return '?';
}

/** Go's time.Time.String() without the monotonic part: 2019-12-09 10:50:36 +0100 CET. */
function goTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const zone = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(date).find((p) => p.type === 'timeZoneName')?.value ?? '';
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ` +
    `${sign}${pad(Math.floor(Math.abs(offset) / 60))}${pad(Math.abs(offset) % 60)} ${zone === 'GMT' ? 'UTC' : zone}`
  );
}

function descriptorTable(descriptors: string[], pids: number[]): TopTable {
  const init = pids[0];
  const uidMap = parseIdMap(procFile(init, 'uid_map') ?? '');
  const gidMap = parseIdMap(procFile(init, 'gid_map') ?? '');
  const passwd = procFile(init, 'root/etc/passwd');
  const group = procFile(init, 'root/etc/group');
  const hostPasswd = readHostFile('/etc/passwd');
  const hostGroup = readHostFile('/etc/group');
  const bootTime = bootTimeSeconds();
  const now = Date.now();
  // The container's pid of each of its processes (the last NSpid field).
  const inContainer = new Map<number, number>();
  const info = pids.flatMap((pid) => {
    const stat = procStat(pid);
    const status = procStatus(pid);
    if (!stat || !status) return [];
    inContainer.set(pid, Number(status.get('NSpid')?.split(/\s+/).pop() ?? pid));
    return [{ pid, stat, status }];
  });
  info.sort((a, b) => inContainer.get(a.pid)! - inContainer.get(b.pid)!);
  const processes = info.map(({ pid, stat, status }) => {
    const [realUid, effUid] = (status.get('Uid') ?? '').split(/\s+/).map(Number);
    const [realGid, effGid] = (status.get('Gid') ?? '').split(/\s+/).map(Number);
    const started = (bootTime + Number(stat[21]) / CLOCK_TICKS) * 1000;
    const cpuNs = ((Number(stat[13]) + Number(stat[14])) / CLOCK_TICKS) * 1e9;
    const elapsedMs = Math.max(now - started, 0);
    const user = (id: number) => nameOf(passwd, toContainerId(id, uidMap));
    const grp = (id: number) => nameOf(group, toContainerId(id, gidMap));
    const cmdline = (procFile(pid, 'cmdline') ?? '').split('\0').filter((a) => a !== '');
    const values: Record<string, () => string> = {
      args: () => (cmdline.length ? cmdline.join(' ') : `[${stat[1]}]`),
      capamb: () => capabilities(status.get('CapAmb')),
      capbnd: () => capabilities(status.get('CapBnd')),
      capeff: () => capabilities(status.get('CapEff')),
      capinh: () => capabilities(status.get('CapInh')),
      capprm: () => capabilities(status.get('CapPrm')),
      comm: () => stat[1],
      etime: () => goDuration(Math.round(elapsedMs) * 1e6),
      group: () => grp(effGid),
      hgroup: () => nameOf(hostGroup, effGid),
      hpid: () => String(pid),
      huser: () => nameOf(hostPasswd, effUid),
      label: () => (procFile(pid, 'attr/current') ?? '').replace(/\0/g, '').trim() || 'unconfined',
      nice: () => stat[18],
      pcpu: () => (elapsedMs > 0 ? ((cpuNs / 1e6 / elapsedMs) * 100).toFixed(3) : '0.000'),
      pgid: () => String(inContainer.get(Number(stat[4])) ?? 0),
      pid: () => String(inContainer.get(pid)),
      ppid: () => String(inContainer.get(Number(stat[3])) ?? 0),
      rgroup: () => grp(realGid),
      ruser: () => user(realUid),
      seccomp: () => ['disabled', 'strict', 'filter'][Number(status.get('Seccomp'))] ?? '?',
      state: () => stat[2],
      stime: () => goTime(new Date(started)),
      time: () => goDuration(cpuNs),
      tty: () => ttyName(Number(stat[6])),
      user: () => user(effUid),
      vsz: () => String(Math.floor(Number(stat[22]) / 1024)),
    };
    return descriptors.map((d) => values[d]());
  });
  return { titles: descriptors.map((d) => DESCRIPTORS[d]), processes };
}
