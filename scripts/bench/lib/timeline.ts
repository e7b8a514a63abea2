/**
 * The timeline of one command from `strace -f -ttt -e trace=execve,exit_group -o FILE`: every
 * program that was executed (a PATH search's failed attempts left out), when it started and
 * ended relative to the command's main program, and how much of the wall time no helper was
 * running, i.e. the engine process itself was the critical path.
 *
 *   node timeline.js --origin REGEX [--background REGEX] [--container REGEX] STRACE_FILE
 *                                                                  prints Markdown
 *
 * --origin picks the main program: the first successful execve of a program whose path matches
 * (e.g. 'bin/tspod$' or '/podman$'). --background names helpers nobody waits for (network helpers,
 * watchers, the container's own process): they are listed but do not count as helper time.
 * --container names the container's process (e.g. '^true$'), for a summary of when it ran.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { markdownTable } from './report.js';

export interface Exec {
  pid: number;
  /** seconds since the epoch */
  time: number;
  path: string;
  argv: string[];
}

export interface Process {
  pid: number;
  /** successful execs of this pid, in order (nsenter, then the program it entered with) */
  execs: Exec[];
  /** when the pid exited, if it did within the trace */
  end?: number;
  exitStatus?: string;
}

/** Strings of a strace argv array, C escapes undone; a truncated array ends with "...". */
export function parseArgv(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"(\.\.\.)?/g)) {
    out.push(
      m[1].replace(/\\(x[0-9a-f]{2}|[0-7]{1,3}|.)/g, (_, e: string) => {
        if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
        if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
        return ({ n: '\n', t: '\t', r: '\r' } as Record<string, string>)[e] ?? e;
      }) + (m[2] ?? ''),
    );
  }
  return out;
}

/** The processes of a trace, in the order of their first successful execve. */
export function parseStrace(text: string): Process[] {
  const processes = new Map<number, Process>();
  const exited: Process[] = [];
  const pending = new Map<number, Exec>();
  const line = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/;
  const ensure = (pid: number) => {
    let p = processes.get(pid);
    if (!p) processes.set(pid, (p = { pid, execs: [] }));
    return p;
  };
  const finishExec = (pid: number, call: Exec, result: string) => {
    if (/=\s*0(\s+<[\d.]+>)?\s*$/.test(result)) ensure(pid).execs.push(call);
  };
  for (const raw of text.split('\n')) {
    const m = line.exec(raw);
    if (!m) continue;
    const pid = Number(m[1]);
    const time = Number(m[2]);
    const rest = m[3];
    const exec = /^execve\("((?:[^"\\]|\\.)*)", \[(.*?)\](?:\.\.\.)?, /.exec(rest);
    if (exec) {
      const call = { pid, time, path: parseArgv(`"${exec[1]}"`)[0], argv: parseArgv(exec[2]) };
      if (rest.endsWith('<unfinished ...>')) pending.set(pid, call);
      else finishExec(pid, call, rest);
      continue;
    }
    const resumed = /^<\.\.\. execve resumed>(.*)$/.exec(rest);
    if (resumed) {
      const call = pending.get(pid);
      pending.delete(pid);
      if (call) finishExec(pid, call, resumed[1]);
      continue;
    }
    const exit = /^\+\+\+ (exited with \d+|killed by \S+)/.exec(rest);
    const p = exit && processes.get(pid);
    if (exit && p) {
      p.end = time;
      p.exitStatus = exit[1];
      // a pid is reused only after its exit: a later exec starts a new record
      exited.push(p);
      processes.delete(pid);
    }
  }
  return [...exited, ...processes.values()].filter((p) => p.execs.length > 0).sort((a, b) => a.execs[0].time - b.execs[0].time);
}

/** A short name: "nsenter → runc start", "conmon", "node bin/tspod run", "true". */
export function describe(p: Process): string {
  const words = (e: Exec) => {
    const name = path.basename(e.path === '/proc/self/exe' ? (e.argv[0] ?? e.path) : e.path);
    const args = e.argv.slice(1);
    if (name === 'nsenter') return name;
    if (name === 'node' && args[0]) return `node ${path.basename(path.dirname(args[0]))}/${path.basename(args[0])} ${firstWords(args.slice(1), 2)}`.trim();
    return `${name} ${firstWords(args, name === 'podman' || name === 'tspod' ? 3 : 2)}`.trim();
  };
  return p.execs.map(words).filter((w, i, all) => i === 0 || w !== all[i - 1]).join(' → ');
}

/** Options of podman, tspod, runc and conmon that take the next argument as their value. */
const VALUE_OPTIONS =
  /^--(root|runroot|storage-driver|storage-opt|log-level|log|log-format|cgroup-manager|tmpdir|network-config-dir|network-backend|volumepath|events-backend|db-backend|hooks-dir|cni-config-dir|runtime|runtime-flag|network|conmon|api-version|bundle|pid-file|console-socket)$/;

/** Up to n arguments that are neither options nor option values, shortened; long ids cut to 12. */
function firstWords(args: string[], n: number): string {
  const out: string[] = [];
  for (let i = 0; i < args.length && out.length < n; i++) {
    const a = args[i];
    if (a.startsWith('-')) {
      // options whose value is the next argument (most engines' global flags take one)
      if (!a.includes('=') && VALUE_OPTIONS.test(a)) i++;
      continue;
    }
    if (a.includes('/') && out.length > 0) break;
    out.push(/^[0-9a-f]{64}$/.test(a) ? a.slice(0, 12) : a.length > 40 ? `${a.slice(0, 37)}...` : a);
  }
  // a program run with options only (conmon --version, slirp4netns --help): name the first
  return out.length === 0 && args[0]?.startsWith('-') && args.length === 1 ? args[0] : out.join(' ');
}

export interface Timeline {
  origin: Process;
  /** wall time from the origin's exec to its exit, ms */
  wallMs: number;
  rows: { startMs: number; endMs?: number; pid: number; what: string; background: boolean }[];
  /** ms of the wall time during which at least one foreground helper ran */
  helperMs: number;
  /** the first row matching --container */
  container?: { startMs: number; endMs?: number };
}

export function timeline(processes: Process[], origin: RegExp, background?: RegExp, container?: RegExp): Timeline {
  const matches = (e: Exec) => origin.test(e.path);
  const main = processes.find((p) => p.execs.some(matches));
  if (!main) throw new Error(`no program matching ${origin} in the trace`);
  const first = main.execs.findIndex(matches);
  const start = main.execs[first].time;
  const end = main.end ?? Math.max(...processes.map((p) => p.end ?? p.execs.at(-1)!.time));
  const ms = (t: number) => (t - start) * 1000;
  const rows = processes
    .filter((p) => p !== main && p.execs.at(-1)!.time >= start)
    .map((p) => {
      const what = describe(p);
      return { startMs: ms(p.execs[0].time), endMs: p.end === undefined ? undefined : ms(p.end), pid: p.pid, what, background: background?.test(what) ?? false };
    });
  // The union of foreground helpers' lifetimes within the origin's.
  const spans = rows
    .filter((r) => !r.background)
    .map((r) => [Math.max(0, r.startMs), Math.min(ms(end), r.endMs ?? ms(end))] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let helperMs = 0;
  let coveredTo = 0;
  for (const [a, b] of spans) {
    if (b <= coveredTo) continue;
    helperMs += b - Math.max(a, coveredTo);
    coveredTo = b;
  }
  const ran = container ? rows.find((r) => container.test(r.what)) : undefined;
  // the origin as started, without the wrappers that exec'd it (setpriv, env)
  return {
    origin: { ...main, execs: main.execs.slice(first) },
    wallMs: ms(end),
    rows,
    helperMs,
    container: ran && { startMs: ran.startMs, endMs: ran.endMs },
  };
}

export function timelineMarkdown(t: Timeline): string {
  const f = (v: number | undefined) => (v === undefined ? 'still running' : `${v.toFixed(0)}`);
  const table = markdownTable(
    ['Start (ms)', 'End (ms)', 'Took (ms)', 'Program'],
    [
      ['0', f(t.wallMs), f(t.wallMs), `${describe(t.origin)} (the command itself)`],
      ...t.rows.map((r) => [
        f(r.startMs),
        f(r.endMs),
        r.endMs === undefined ? '' : (r.endMs - r.startMs).toFixed(0),
        r.background ? `${r.what} (in the background)` : r.what,
      ]),
    ],
    ['right', 'right', 'right', 'left'],
  );
  const alone = t.wallMs - t.helperMs;
  const first = t.rows[0]?.startMs;
  const c = t.container;
  return (
    `${table}\nWall time ${t.wallMs.toFixed(0)} ms; a foreground helper was running for ${t.helperMs.toFixed(0)} ms of it, ` +
    `the command's own process alone for ${alone.toFixed(0)} ms (${((alone / t.wallMs) * 100).toFixed(0)} %).` +
    (first === undefined ? '' : ` First helper at ${first.toFixed(0)} ms.`) +
    (c ? ` The container's process started at ${c.startMs.toFixed(0)} ms` + (c.endMs === undefined ? '.' : ` and ended at ${c.endMs.toFixed(0)} ms; the command ended ${(t.wallMs - c.endMs).toFixed(0)} ms after it.`) : '') +
    '\n'
  );
}

function main(argv: string[]): void {
  let origin: RegExp | undefined;
  let background: RegExp | undefined;
  let container: RegExp | undefined;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--origin') origin = new RegExp(argv[++i]);
    else if (argv[i] === '--background') background = new RegExp(argv[++i]);
    else if (argv[i] === '--container') container = new RegExp(argv[++i]);
    else files.push(argv[i]);
  }
  if (!origin || files.length !== 1) throw new Error('usage: timeline.js --origin REGEX [--background REGEX] [--container REGEX] STRACE_FILE');
  process.stdout.write(timelineMarkdown(timeline(parseStrace(readFileSync(files[0], 'utf8')), origin, background, container)));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
