/**
 * The OCI runtime (runc, crun) containers are started with: an explicit choice (--runtime, a
 * name or a path) wins; otherwise the first candidate that works here. On hybrid cgroup hosts
 * crun refuses every container ("cgroups in hybrid mode not supported") unless it cannot see the
 * cgroup2 mount at /sys/fs/cgroup/unified, so it is only picked automatically where cgroups are
 * not hybrid; chosen explicitly, the caller must hide that mount (hideUnifiedCgroup).
 *
 * The probe is cheap (the binary runs and reports a version, plus the cgroup layout); its result
 * is cached in RUNROOT/runtime.json, keyed by each binary's path, mtime and size, so commands do
 * not pay a spawn each. Containers arrive in the next issue, which replaces the --version probe
 * with starting a trivial container.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { prerequisiteError } from '../core/prerequisites.js';
import { writeJsonAtomic } from '../store/atomic.js';
import { findExecutable } from './helpers.js';
import { cgroupLayout, parseVersion, runHelper } from './probe.js';

/** Tried in this order when no runtime is chosen: runc is the one verified to start containers here. */
export const RUNTIME_CANDIDATES = ['runc', 'crun'];

export interface Runtime {
  name: string;
  path: string;
  version: string;
  /** crun on hybrid cgroups: run it where a tmpfs covers /sys/fs/cgroup/unified */
  hideUnifiedCgroup: boolean;
}

/** What probing one candidate found, for the doctor and `tspod info`. */
export interface RuntimeProbe {
  /** what was asked for: a candidate name or the explicit --runtime value */
  requested: string;
  path?: string;
  name?: string;
  version?: string;
  usable: boolean;
  /** why it is not usable (or needs the cgroup workaround) */
  reason?: string;
  hideUnifiedCgroup: boolean;
}

interface CacheEntry {
  mtimeMs: number;
  size: number;
  ok: boolean;
  name: string;
  version: string;
  error?: string;
}

const CACHE_FILE = 'runtime.json';

export interface FindRuntimeOptions {
  /** where the probe cache lives; without it every call probes */
  runroot?: string;
  /** probe again even if the cache has an answer (the doctor does) */
  fresh?: boolean;
}

/** The runtime to use, or a TspodError saying why none works and how to install one. */
export async function findRuntime(preferred?: string, opts: FindRuntimeOptions = {}): Promise<Runtime> {
  const probes = await probeRuntimes(preferred, opts);
  const chosen = probes.find((p) => p.usable);
  if (chosen) return { name: chosen.name!, path: chosen.path!, version: chosen.version!, hideUnifiedCgroup: chosen.hideUnifiedCgroup };
  if (preferred) throw prerequisiteError('runtime-unusable', preferred, probes[0].reason);
  throw prerequisiteError('runtime-missing', probes);
}

/**
 * Probes the explicit choice, or every candidate in order of preference (stopping at none: the
 * doctor shows why each one was or was not chosen).
 */
export async function probeRuntimes(preferred?: string, opts: FindRuntimeOptions = {}): Promise<RuntimeProbe[]> {
  const cache = opts.runroot && !opts.fresh ? readCache(opts.runroot) : {};
  const hybrid = cgroupLayout().hybrid;
  const requested = preferred ? [preferred] : RUNTIME_CANDIDATES;
  const updates: Record<string, CacheEntry> = {};
  const probes = await Promise.all(
    requested.map(async (want): Promise<RuntimeProbe> => {
      const file = want.includes('/') ? path.resolve(want) : findExecutable(want);
      if (!file) return { requested: want, usable: false, reason: 'not installed', hideUnifiedCgroup: false };
      let st;
      try {
        st = statSync(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        return { requested: want, usable: false, reason: code === 'ENOENT' ? 'not installed' : code, hideUnifiedCgroup: false };
      }
      let entry = cache[file];
      if (!entry || entry.mtimeMs !== st.mtimeMs || entry.size !== st.size) {
        entry = await probeBinary(file, st.mtimeMs, st.size);
        updates[file] = entry;
      }
      const base = { requested: want, path: file, name: entry.name, version: entry.version };
      if (!entry.ok) return { ...base, usable: false, reason: entry.error, hideUnifiedCgroup: false };
      if (entry.name === 'crun' && hybrid) {
        const reason = 'cgroups are in hybrid mode (cgroup2 at /sys/fs/cgroup/unified), which crun does not support';
        // Chosen explicitly, crun is used with the cgroup2 mount hidden from it.
        return { ...base, usable: Boolean(preferred), reason, hideUnifiedCgroup: true };
      }
      return { ...base, usable: true, hideUnifiedCgroup: false };
    }),
  );
  if (opts.runroot && Object.keys(updates).length > 0) writeCache(opts.runroot, { ...readCache(opts.runroot), ...updates });
  return probes;
}

async function probeBinary(file: string, mtimeMs: number, size: number): Promise<CacheEntry> {
  const result = await runHelper(file, ['--version']);
  const name = /^(\S+)\s+version\b/i.exec(result.stdout.trim())?.[1] ?? path.basename(file);
  if (!result.ok) return { mtimeMs, size, ok: false, name, version: '', error: `${file} --version failed: ${result.stderr.trim().split('\n')[0]}` };
  return { mtimeMs, size, ok: true, name, version: parseVersion(result.stdout) };
}

function readCache(runroot: string): Record<string, CacheEntry> {
  try {
    const data = JSON.parse(readFileSync(path.join(runroot, CACHE_FILE), 'utf8')) as unknown;
    return data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, CacheEntry>) : {};
  } catch {
    return {};
  }
}

/** Best effort: the cache only saves a spawn, so a runroot we cannot write is no error. */
function writeCache(runroot: string, cache: Record<string, CacheEntry>): void {
  try {
    mkdirSync(runroot, { recursive: true, mode: 0o700 });
    writeJsonAtomic(path.join(runroot, CACHE_FILE), cache, 0o600);
  } catch {
    // read-only or foreign runroot: probe again next time
  }
}
