/**
 * Summarises V8 CPU profiles (`node --cpu-prof`) of tspod runs: where Node's own CPU time goes,
 * by module (npm package, tspod source file, Node internals) and by function, self time and
 * time including callees, averaged over the profiles given.
 *
 * tspod runs as one esbuild bundle, so a profile names dist/bundle/tspod.cjs for most frames;
 * esbuild writes a `// path` comment where each module's code begins, which maps a frame's line
 * back to its module. The bundle is read from the profile's own URL (its first line says
 * `// tspod bundle HASH`).
 *
 *   node cpu-profile.js [--top N] PROFILE.cpuprofile...     prints Markdown
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { markdownTable } from './report.js';

interface CallFrame {
  functionName: string;
  url: string;
  /** 0-based */
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  /** microseconds */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Frames V8 reports that are not JavaScript functions. */
const PSEUDO = new Set(['(program)', '(garbage collector)', '(idle)', '(root)']);

/** Line (0-based) → module of one bundle, from esbuild's `// path` comments. */
class BundleModules {
  private readonly starts: { line: number; module: string }[] = [];

  constructor(source: string) {
    source.split('\n').forEach((text, line) => {
      const m = /^\/\/ (\S+\.(?:[cm]?js|ts|json))$/.exec(text);
      if (m) this.starts.push({ line, module: moduleName(m[1]) });
    });
  }

  at(line: number): string {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = '(bundle prologue)';
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid].line <= line) {
        found = this.starts[mid].module;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
}

/** "…/node_modules/@oclif/core/lib/x.js" → "@oclif/core", "src/core/x.ts" stays as it is. */
export function moduleName(file: string): string {
  const at = file.lastIndexOf('node_modules/');
  if (at >= 0) {
    const parts = file.slice(at + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const src = file.search(/(^|\/)(src|test|scripts|bin)\//);
  return src >= 0 ? file.slice(src).replace(/^\//, '') : file;
}

export interface Summary {
  profiles: number;
  /** mean wall time the profile covers, ms */
  wallMs: number;
  /** mean ms per category: JavaScript, GC, V8/native "(program)", idle (waiting) */
  categories: Record<string, number>;
  /** mean self ms by module and by function; mean ms including callees by function */
  modules: Map<string, number>;
  functions: Map<string, number>;
  inclusive: Map<string, number>;
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

export function summarize(profiles: CpuProfile[]): Summary {
  const bundles = new Map<string, BundleModules | undefined>();
  const bundleFor = (url: string) => {
    if (!bundles.has(url)) {
      let modules: BundleModules | undefined;
      try {
        const source = url.startsWith('file:') ? readFileSync(fileURLToPath(url), 'utf8') : '';
        if (source.startsWith('// tspod bundle ')) modules = new BundleModules(source);
      } catch {
        modules = undefined;
      }
      bundles.set(url, modules);
    }
    return bundles.get(url);
  };
  const moduleOf = (frame: CallFrame): string => {
    if (PSEUDO.has(frame.functionName)) return frame.functionName;
    if (!frame.url) return '(native)';
    if (frame.url.startsWith('node:')) return frame.url;
    const bundle = bundleFor(frame.url);
    if (bundle) return bundle.at(frame.lineNumber);
    return moduleName(frame.url.startsWith('file:') ? fileURLToPath(frame.url) : frame.url);
  };
  const summary: Summary = {
    profiles: profiles.length,
    wallMs: 0,
    categories: {},
    modules: new Map(),
    functions: new Map(),
    inclusive: new Map(),
  };
  const share = 1 / 1000 / profiles.length;
  for (const profile of profiles) {
    summary.wallMs += (profile.endTime - profile.startTime) * share;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const label = (n: ProfileNode) => {
      const f = n.callFrame;
      if (PSEUDO.has(f.functionName)) return f.functionName;
      // A bundle's line numbers are not the module's: name the module, and the bundle line
      // only to tell anonymous functions apart.
      const where = bundleFor(f.url) ? (f.functionName ? moduleOf(f) : `${moduleOf(f)}, bundle line ${f.lineNumber + 1}`) : `${moduleOf(f)}:${f.lineNumber + 1}`;
      return `${f.functionName || '(anonymous)'} (${where})`;
    };
    profile.samples.forEach((id, i) => {
      // V8 attributes each delta to the sample that follows it.
      const ms = (profile.timeDeltas[i] ?? 0) * share;
      const node = byId.get(id);
      if (!node) return;
      const name = node.callFrame.functionName;
      const category = name === '(idle)' ? 'idle' : name === '(garbage collector)' ? 'GC' : name === '(program)' ? 'V8 and native (program)' : 'JavaScript';
      summary.categories[category] = (summary.categories[category] ?? 0) + ms;
      if (category !== 'JavaScript') return;
      add(summary.modules, moduleOf(node.callFrame), ms);
      add(summary.functions, label(node), ms);
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const n = byId.get(at)!;
        if (PSEUDO.has(n.callFrame.functionName)) continue;
        const key = label(n);
        if (!seen.has(key)) add(summary.inclusive, key, ms);
        seen.add(key);
      }
    });
  }
  return summary;
}

function top(map: Map<string, number>, n: number, filter: (key: string) => boolean = () => true): [string, number][] {
  return [...map].filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, n);
}

const ms = (v: number) => `${v.toFixed(1)} ms`;

export function summaryMarkdown(s: Summary, n: number): string {
  const categories = Object.entries(s.categories).sort((a, b) => b[1] - a[1]);
  const out = [
    `Mean over ${s.profiles} profile${s.profiles === 1 ? '' : 's'}: ${ms(s.wallMs)} profiled (from V8's start of profiling to the exit), of which:\n\n`,
    markdownTable(['Category', 'Time'], categories.map(([k, v]) => [k, ms(v)]), ['left', 'right']),
    `\nJavaScript self time by module (top ${n}):\n\n`,
    markdownTable(['Module', 'Self'], top(s.modules, n).map(([k, v]) => [k, ms(v)]), ['left', 'right']),
    `\nFunctions by self time (top ${n}):\n\n`,
    markdownTable(['Function (module)', 'Self'], top(s.functions, n).map(([k, v]) => [k, ms(v)]), ['left', 'right']),
    `\ntspod's own functions by time including callees (top ${n}):\n\n`,
    markdownTable(['Function (module)', 'Total'], top(s.inclusive, n, (k) => /\((src|bin)\//.test(k)).map(([k, v]) => [k, ms(v)]), ['left', 'right']),
  ];
  return out.join('');
}

function main(argv: string[]): void {
  let n = 12;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--top') n = Number(argv[++i]);
    else files.push(argv[i]);
  }
  if (files.length === 0 || !Number.isInteger(n) || n < 1) throw new Error('usage: cpu-profile.js [--top N] PROFILE.cpuprofile...');
  const profiles = files.map((f) => JSON.parse(readFileSync(path.resolve(f), 'utf8')) as CpuProfile);
  process.stdout.write(summaryMarkdown(summarize(profiles), n));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
