/**
 * Memory of the processes that stay alive next to running containers (conmon, slirp4netns,
 * pasta, watchers: everything but the containers' own processes), found in /proc by what
 * their command lines name: the container's id, its process id, its network namespace path.
 *
 *   node helper-memory.js scan CONTAINERS_FILE [--shared NAME=PID...]   prints JSON (a Scan)
 *   node helper-memory.js table TOOL=SCAN.json[,SCAN.json...] ...      prints Markdown
 *
 * CONTAINERS_FILE has one line per container: `ID PID CONMON_PID SANDBOX_KEY` (the sandbox key
 * may be missing), as `inspect --format '{{.Id}} {{.State.Pid}} {{.State.ConmonPid}}
 * {{.NetworkSettings.SandboxKey}}'` prints it for tspod and Podman. --shared measures
 * processes that serve all containers (the rootless pause process) on their own.
 * RSS is VmRSS from /proc/PID/status; PSS, from /proc/PID/smaps_rollup, shares the pages that
 * several processes map (one conmon binary, many conmons) among them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { markdownTable } from './report.js';

interface Container {
  id: string;
  pid: number;
  conmonPid: number;
  sandboxKey?: string;
}

interface ProcInfo {
  pid: number;
  ppid: number;
  name: string;
  argv: string[];
  rssKiB: number;
  pssKiB: number;
}

export interface HelperUsage {
  name: string;
  count: number;
  rssKiB: number;
  pssKiB: number;
}

export interface Scan {
  containers: number;
  /** containers for which no conmon was found */
  withoutConmon: number;
  helpers: HelperUsage[];
  shared: HelperUsage[];
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (key: string) => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    let pssKiB = 0;
    try {
      pssKiB = Number(/^Pss:\s*(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // kernel threads and processes gone meanwhile have none
    }
    return { pid, ppid: Number(field('PPid')), name: field('Name'), argv, rssKiB: Number.parseInt(field('VmRSS') || '0', 10), pssKiB };
  } catch {
    return undefined;
  }
}

export function parseContainers(text: string): Container[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w[0])
    .map(([id, pid, conmonPid, sandboxKey]) => ({ id, pid: Number(pid), conmonPid: Number(conmonPid), sandboxKey: sandboxKey || undefined }));
}

/** Whether a process's command line names the container (its id, pid or network namespace). */
function names(p: ProcInfo, c: Container): boolean {
  if (p.pid === c.conmonPid) return true;
  return p.argv.some(
    (a) => a === c.id || (c.pid > 0 && (a === String(c.pid) || a === `--pid=${c.pid}`)) || (c.sandboxKey !== undefined && a === c.sandboxKey),
  );
}

function tally(list: ProcInfo[]): HelperUsage[] {
  const by = new Map<string, HelperUsage>();
  for (const p of list) {
    const u = by.get(p.name) ?? { name: p.name, count: 0, rssKiB: 0, pssKiB: 0 };
    u.count++;
    u.rssKiB += p.rssKiB;
    u.pssKiB += p.pssKiB;
    by.set(p.name, u);
  }
  return [...by.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function scan(containers: Container[], shared: Record<string, number>): Scan {
  const procs = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .map((d) => readProc(Number(d)))
    .filter((p): p is ProcInfo => p !== undefined);
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  // The containers' own processes: each container's process and its descendants.
  const inContainer = new Set<number>();
  const stack = containers.map((c) => c.pid).filter((pid) => pid > 0);
  while (stack.length) {
    const pid = stack.pop()!;
    if (inContainer.has(pid)) continue;
    inContainer.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  const helpers = procs.filter((p) => !inContainer.has(p.pid) && containers.some((c) => names(p, c)));
  const conmons = new Set(helpers.filter((p) => p.name === 'conmon').map((p) => p.pid));
  return {
    containers: containers.length,
    withoutConmon: containers.filter((c) => !conmons.has(c.conmonPid)).length,
    helpers: tally(helpers),
    shared: Object.entries(shared).flatMap(([name, pid]) => {
      const p = procs.find((x) => x.pid === pid);
      return p ? [{ name, count: 1, rssKiB: p.rssKiB, pssKiB: p.pssKiB }] : [];
    }),
  };
}

/** Per container, averaged over the scans of one tool (each scan: a set of running containers). */
function perContainer(scans: Scan[]): { helpers: Map<string, { count: number; rss: number; pss: number }>; rss: number; pss: number; shared: Map<string, { rss: number; pss: number }> } {
  const helpers = new Map<string, { count: number; rss: number; pss: number }>();
  const shared = new Map<string, { rss: number; pss: number }>();
  let rss = 0;
  let pss = 0;
  for (const s of scans) {
    const k = 1 / s.containers / scans.length;
    for (const h of s.helpers) {
      const e = helpers.get(h.name) ?? { count: 0, rss: 0, pss: 0 };
      e.count += h.count * k;
      e.rss += h.rssKiB * k;
      e.pss += h.pssKiB * k;
      helpers.set(h.name, e);
      rss += h.rssKiB * k;
      pss += h.pssKiB * k;
    }
    for (const h of s.shared) {
      const e = shared.get(h.name) ?? { rss: 0, pss: 0 };
      e.rss += h.rssKiB / scans.length;
      e.pss += h.pssKiB / scans.length;
      shared.set(h.name, e);
    }
  }
  return { helpers, rss, pss, shared };
}

const kib = (v: number | undefined) => (v === undefined ? '–' : v >= 10240 ? `${(v / 1024).toFixed(1)} MiB` : `${v.toFixed(0)} KiB`);

/** Columns per tool: processes per container, RSS and PSS per container; the first tool is the candidate. */
export function memoryTable(tools: [string, Scan[]][]): string {
  const data = tools.map(([name, scans]) => ({ name, ...perContainer(scans), containers: scans.reduce((n, s) => n + s.containers, 0), missing: scans.reduce((n, s) => n + s.withoutConmon, 0) }));
  const helperNames = [...new Set(data.flatMap((d) => [...d.helpers.keys()]))].sort();
  const sharedNames = [...new Set(data.flatMap((d) => [...d.shared.keys()]))].sort();
  const headers = ['Per container', ...data.flatMap((d) => [`${d.name} processes`, `${d.name} RSS`, `${d.name} PSS`])];
  const rows = helperNames.map((h) => [
    h,
    ...data.flatMap((d) => {
      const e = d.helpers.get(h);
      return [e ? e.count.toFixed(2) : '0', kib(e?.rss), kib(e?.pss)];
    }),
  ]);
  rows.push(['**all helpers**', ...data.flatMap((d) => ['', `**${kib(d.rss)}**`, `**${kib(d.pss)}**`])]);
  for (const s of sharedNames) {
    rows.push([`${s} (one per user, shared)`, ...data.flatMap((d) => { const e = d.shared.get(s); return [e ? '1' : '0', kib(e?.rss), kib(e?.pss)]; })]);
  }
  let text = markdownTable(headers, rows, ['left', ...data.flatMap(() => ['right', 'right', 'right'] as const)]);
  if (data.length >= 2 && data[1].rss > 0 && data[1].pss > 0) {
    text += `\nHelpers per container, ${data[0].name}/${data[1].name}: RSS **${(data[0].rss / data[1].rss).toFixed(2)}**, PSS **${(data[0].pss / data[1].pss).toFixed(2)}** (over ${data.map((d) => `${d.containers} ${d.name}`).join(' and ')} container samples).\n`;
  }
  const missing = data.filter((d) => d.missing > 0);
  if (missing.length) text += `\nWarning: no conmon found for ${missing.map((d) => `${d.missing} ${d.name}`).join(', ')} containers.\n`;
  return text;
}

function main(argv: string[]): void {
  const [command, ...args] = argv;
  if (command === 'scan' && args.length >= 1) {
    const shared: Record<string, number> = {};
    for (let i = 1; i < args.length; i++) {
      if (args[i] !== '--shared' || !/^[^=]+=\d+$/.test(args[i + 1] ?? '')) throw new Error(`bad argument ${args[i]}`);
      const [name, pid] = args[++i].split('=');
      shared[name] = Number(pid);
    }
    process.stdout.write(`${JSON.stringify(scan(parseContainers(readFileSync(args[0], 'utf8')), shared))}\n`);
  } else if (command === 'table' && args.length >= 1) {
    const tools = args.map((a) => {
      const [name, files] = a.split('=');
      return [name, files.split(',').map((f) => JSON.parse(readFileSync(f, 'utf8')) as Scan)] as [string, Scan[]];
    });
    process.stdout.write(memoryTable(tools));
  } else {
    throw new Error('usage: helper-memory.js scan CONTAINERS_FILE [--shared NAME=PID...] | table TOOL=SCAN.json[,...]...');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
