/**
 * What `tspod info` reports: the host, the store, the helpers and the registry configuration.
 * Field names follow Podman's `info` JSON so that templates written for Podman
 * (`{{.Host.OCIRuntime.Name}}`, `{{.Store.GraphRoot}}`) carry over. Helper versions are probed
 * in parallel and only for the helpers tspod would actually use.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cgroupLayout, probeHelper } from '../namespaces/probe.js';
import { currentUser, parseSubIdFile, subIdFile, type SubIdRange } from '../namespaces/subid.js';
import { ImageStore } from '../store/image-store.js';
import type { StorePaths } from '../store/paths.js';
import { loadRegistriesConfig } from './registries.js';
import { chosenRuntime, goArch, networkHelper, toBinary, type Binary } from './version-info.js';

export interface HostInfo {
  host: {
    os: string;
    arch: string;
    distribution: { distribution: string; version: string };
    kernel: string;
    hostname: string;
    cpus: number;
    memTotal: number;
    memFree: number;
    cgroupVersion: 'v1' | 'v2';
    /** v1 controllers plus a cgroup2 mount at /sys/fs/cgroup/unified */
    cgroupHybrid: boolean;
    rootless: boolean;
    uid: number;
    gid: number;
    /** the user's subordinate ranges (rootless only) */
    subuidRanges: SubIdRange[];
    subgidRanges: SubIdRange[];
    ociRuntime: Binary | null;
    conmon: Binary | null;
    networkHelper: Binary | null;
  };
  store: {
    graphDriverName: 'overlay';
    graphRoot: string;
    runRoot: string;
    configFiles: string[];
    imageStore: { number: number };
  };
  registries: {
    search: string[];
    /** registry -> its mirrors, for registries that have any */
    mirrors: Record<string, string[]>;
    insecure: string[];
    blocked: string[];
  };
}

function distribution(): { distribution: string; version: string } {
  let text = '';
  try {
    text = readFileSync('/etc/os-release', 'utf8');
  } catch {
    return { distribution: 'unknown', version: 'unknown' };
  }
  const field = (key: string) => new RegExp(`^${key}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1];
  return { distribution: field('ID') ?? 'linux', version: field('VERSION_ID') ?? 'unknown' };
}

function subIdRangesOrNone(kind: 'uid' | 'gid'): SubIdRange[] {
  try {
    return parseSubIdFile(readFileSync(subIdFile(kind), 'utf8'), currentUser());
  } catch {
    return [];
  }
}

/** Images in the store, without creating a store that does not exist yet. */
function imageCount(paths: StorePaths): number {
  if (!existsSync(path.join(paths.root, 'images.json'))) return 0;
  return ImageStore.open(paths).read().images.length;
}

export async function hostInfo(paths: StorePaths, opts: { runtime?: string } = {}): Promise<HostInfo> {
  const registries = loadRegistriesConfig([paths.systemConfigDir, paths.configDir]);
  const [ociRuntime, conmon, network] = await Promise.all([chosenRuntime(paths, opts.runtime), probeHelper('conmon'), networkHelper()]);
  const layout = cgroupLayout();
  const entries = Object.entries(registries.registries);
  return {
    host: {
      os: process.platform,
      arch: goArch(),
      distribution: distribution(),
      kernel: os.release(),
      hostname: os.hostname(),
      cpus: os.availableParallelism(),
      memTotal: os.totalmem(),
      memFree: os.freemem(),
      cgroupVersion: layout.version,
      cgroupHybrid: layout.hybrid,
      rootless: paths.rootless,
      uid: process.geteuid!(),
      gid: process.getegid!(),
      subuidRanges: paths.rootless ? subIdRangesOrNone('uid') : [],
      subgidRanges: paths.rootless ? subIdRangesOrNone('gid') : [],
      ociRuntime,
      conmon: toBinary(conmon),
      networkHelper: network,
    },
    store: {
      graphDriverName: 'overlay',
      graphRoot: paths.root,
      runRoot: paths.runroot,
      configFiles: registries.files,
      imageStore: { number: imageCount(paths) },
    },
    registries: {
      search: registries.unqualifiedSearchRegistries,
      mirrors: Object.fromEntries(entries.filter(([, e]) => e.mirrors.length > 0).map(([host, e]) => [host, e.mirrors])),
      insecure: entries.filter(([, e]) => e.insecure).map(([host]) => host),
      blocked: entries.filter(([, e]) => e.blocked).map(([host]) => host),
    },
  };
}

/** Go's names for info's JSON keys where they are not just capitalized (Podman's Info struct). */
const GO_FIELD_NAMES: Record<string, string> = { os: 'OS', cpus: 'CPUs', uid: 'UID', gid: 'GID', ociRuntime: 'OCIRuntime' };

/** Keys whose values are maps keyed by data (registry names), not fields. */
const MAP_FIELDS = new Set(['mirrors']);

/**
 * `tspod info` as Go templates see it: Podman prints lowercase JSON but templates name Go's
 * struct fields ({{.Host.OCIRuntime.Name}}), so the same data gets Go's field names here.
 */
export function templateView(value: unknown, isMap = false): unknown {
  if (Array.isArray(value)) return value.map((v) => templateView(v));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [
      isMap ? key : (GO_FIELD_NAMES[key] ?? key[0].toUpperCase() + key.slice(1)),
      templateView(v, MAP_FIELDS.has(key)),
    ]),
  );
}
