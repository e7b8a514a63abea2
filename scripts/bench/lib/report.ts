/**
 * Turns benchmark results into Markdown, and puts Markdown into one section of BENCHMARKS.md.
 *
 * A results file has one JSON object per line, one per table row (see Row). A row names the
 * candidate (tspod) and the baseline (the peer it is compared with) by their hyperfine command
 * names, the hyperfine --export-json files measuring both (several rounds, merged here), and
 * optional files of peak RSS samples in KiB, one per line, as `/usr/bin/time -f %M` writes them.
 *
 *   node report.js table RESULTS.jsonl [--row-header H] [--per NOUN]
 *                                                 prints the tables (row column H, default
 *                                                 "Pull"; "CPU time per NOUN", default "pull")
 *   node report.js update FILE SECTION BODY.md    replaces (or appends) SECTION in FILE
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** A mean and a standard deviation, same unit. */
export interface Stat {
  mean: number;
  stddev: number;
}

export interface Row {
  /** e.g. "rootless" or "root" */
  mode: string;
  /** what was measured, e.g. "debian, empty store" */
  row: string;
  /** hyperfine command names (-n) */
  candidate: string;
  baseline: string;
  /** hyperfine --export-json files, each with both commands; their runs are pooled */
  hyperfine: string[];
  /** peak RSS samples per command name: files of KiB values, one per line */
  rss?: Record<string, string>;
}

interface HyperfineResult {
  command: string;
  mean: number;
  stddev: number | null;
  user: number;
  system: number;
  times?: number[];
}

export interface Measured {
  name: string;
  seconds: Stat;
  runs: number;
  /** mean CPU seconds per run */
  user: number;
  system: number;
  /** median peak RSS in KiB, undefined without samples */
  rssKiB?: number;
  rssSamples: number;
}

/**
 * a / b with its standard deviation by first-order propagation of the relative errors
 * (the same estimate hyperfine prints in its "x ± y times faster" summary).
 */
export function ratio(a: Stat, b: Stat): Stat {
  const mean = a.mean / b.mean;
  const relative = Math.hypot(a.stddev / a.mean, b.stddev / b.mean);
  return { mean, stddev: mean * relative };
}

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** "812 ms ± 31 ms" below 1 s, "8.13 s ± 0.42 s" above. */
export function formatSeconds(s: Stat): string {
  if (s.mean < 1) return `${(s.mean * 1000).toFixed(0)} ms ± ${(s.stddev * 1000).toFixed(0)} ms`;
  return `${s.mean.toFixed(2)} s ± ${s.stddev.toFixed(2)} s`;
}

export function formatRatio(r: Stat): string {
  return `${r.mean.toFixed(2)} ± ${r.stddev.toFixed(2)}`;
}

export function formatKiB(kib: number | undefined): string {
  return kib === undefined ? 'n/a' : `${(kib / 1024).toFixed(0)} MiB`;
}

export type Align = 'left' | 'right';

/** A GitHub-flavoured Markdown table; `|` in cells is escaped. */
export function markdownTable(headers: string[], rows: string[][], align: Align[] = []): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rule = headers.map((_, i) => (align[i] === 'right' ? '---:' : '---'));
  return [headers, rule, ...rows].map((cells, i) => `| ${(i === 1 ? cells : cells.map(cell)).join(' | ')} |`).join('\n') + '\n';
}

function readRss(file: string | undefined): number[] {
  if (!file) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^\d+$/.test(line))
    .map(Number);
}

/** The runs of `name` in all of the row's hyperfine files, pooled. */
function pooled(row: Row, name: string): Measured {
  const results = row.hyperfine.flatMap((file) => {
    const { results: all } = JSON.parse(readFileSync(file, 'utf8')) as { results: HyperfineResult[] };
    return all.filter((r) => r.command === name);
  });
  const times = results.flatMap((r) => r.times ?? []);
  if (times.length === 0) throw new Error(`no runs of "${name}" in ${row.hyperfine.join(', ')}`);
  const mean = times.reduce((sum, t) => sum + t, 0) / times.length;
  const variance = times.length > 1 ? times.reduce((sum, t) => sum + (t - mean) ** 2, 0) / (times.length - 1) : 0;
  const cpu = (key: 'user' | 'system') => results.reduce((sum, r) => sum + r[key] * (r.times?.length ?? 0), 0) / times.length;
  const samples = readRss(row.rss?.[name]);
  return {
    name,
    seconds: { mean, stddev: Math.sqrt(variance) },
    runs: times.length,
    user: cpu('user'),
    system: cpu('system'),
    rssKiB: median(samples),
    rssSamples: samples.length,
  };
}

/** The row's candidate and baseline as measured. */
export function measure(row: Row): [Measured, Measured] {
  return [pooled(row, row.candidate), pooled(row, row.baseline)];
}

export function readRows(file: string): Row[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Row);
}

export interface TableLabels {
  /** heading of the column naming each row */
  rowHeader: string;
  /** what one timed run is, for "CPU time per …" */
  per: string;
}

/** The comparison table (wall time, ratio, peak RSS) and the CPU-time table, in Markdown. */
export function comparisonTables(rows: Row[], labels: TableLabels = { rowHeader: 'Pull', per: 'pull' }): string {
  const measured = rows.map((row) => ({ row, m: measure(row) }));
  const cand = rows[0]?.candidate ?? 'candidate';
  const base = rows[0]?.baseline ?? 'baseline';
  const main = markdownTable(
    ['Mode', labels.rowHeader, `${cand} (mean ± σ)`, `${base} (mean ± σ)`, `${cand}/${base}`, 'Runs', `${cand} peak RSS`, `${base} peak RSS`],
    measured.map(({ row, m: [c, b] }) => [
      row.mode,
      row.row,
      formatSeconds(c.seconds),
      formatSeconds(b.seconds),
      `**${formatRatio(ratio(c.seconds, b.seconds))}**`,
      `${c.runs} + ${b.runs}`,
      formatKiB(c.rssKiB),
      formatKiB(b.rssKiB),
    ]),
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  const cpu = markdownTable(
    ['Mode', labels.rowHeader, `${cand} user`, `${cand} system`, `${base} user`, `${base} system`, `CPU ${cand}/${base}`],
    measured.map(({ row, m: [c, b] }) => [
      row.mode,
      row.row,
      `${c.user.toFixed(2)} s`,
      `${c.system.toFixed(2)} s`,
      `${b.user.toFixed(2)} s`,
      `${b.system.toFixed(2)} s`,
      ((c.user + c.system) / (b.user + b.system)).toFixed(2),
    ]),
    ['left', 'left', 'right', 'right', 'right', 'right', 'right'],
  );
  return `${main}\nCPU time per ${labels.per} (mean over the timed runs, all processes of the command):\n\n${cpu}`;
}

const begin = (section: string) => `<!-- bench:${section}:begin -->`;
const end = (section: string) => `<!-- bench:${section}:end -->`;

/**
 * `doc` with the text between SECTION's begin and end markers replaced by `body` (markers kept),
 * or with a new marked section appended when it has none. Other sections are left as they are.
 */
export function replaceSection(doc: string, section: string, body: string): string {
  const marked = `${begin(section)}\n${body.trimEnd()}\n${end(section)}`;
  const from = doc.indexOf(begin(section));
  const to = doc.indexOf(end(section));
  if (from === -1 && to === -1) return `${doc.trimEnd()}${doc.trim() ? '\n\n' : ''}${marked}\n`;
  if (from === -1 || to < from) throw new Error(`the markers of section "${section}" are broken: fix them by hand`);
  return doc.slice(0, from) + marked + doc.slice(to + end(section).length);
}

function readOptional(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

function main(argv: string[]): void {
  const [command, ...args] = argv;
  if (command === 'table' && [1, 3, 5].includes(args.length)) {
    const labels: TableLabels = { rowHeader: 'Pull', per: 'pull' };
    for (let i = 1; i < args.length; i += 2) {
      if (args[i] === '--row-header') labels.rowHeader = args[i + 1];
      else if (args[i] === '--per') labels.per = args[i + 1];
      else throw new Error(`report.js table: unknown option ${args[i]}`);
    }
    process.stdout.write(comparisonTables(readRows(args[0]), labels));
  } else if (command === 'update' && args.length === 3) {
    const [file, section, bodyFile] = args;
    const updated = replaceSection(readOptional(file), section, readFileSync(bodyFile, 'utf8'));
    writeFileSync(`${file}.tmp`, updated);
    renameSync(`${file}.tmp`, file);
  } else {
    throw new Error('usage: report.js table RESULTS.jsonl [--row-header H] [--per NOUN] | report.js update FILE SECTION BODY.md');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
