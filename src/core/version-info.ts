/**
 * `tspod version`, and the helper lookups `tspod info` shares with it. Kept apart from
 * host-info.ts so that `tspod version` loads neither zod nor the store: it should cost little
 * more than Node's own start. Helper versions cost one spawn each, run in parallel; the
 * runtime's comes from the probe cache.
 */
import { probeHelper, type HelperBinary } from '../namespaces/probe.js';
import { probeRuntimes } from '../namespaces/runtime.js';
import type { StorePaths } from '../store/paths.js';

export interface Binary {
  name: string;
  path: string;
  version: string;
}

/** Node's arch names in Go's spelling (GOARCH), as container tools print them. */
export function goArch(arch = process.arch): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le' };
  return names[arch] ?? arch;
}

export function toBinary(helper: HelperBinary | undefined): Binary | null {
  return helper ? { name: helper.name, path: helper.path, version: helper.version } : null;
}

/** The runtime findRuntime would choose (from the probe cache when it is fresh), or null. */
export async function chosenRuntime(paths: StorePaths, preferred?: string): Promise<Binary | null> {
  const chosen = (await probeRuntimes(preferred, { runroot: paths.runroot })).find((p) => p.usable);
  return chosen ? { name: chosen.name!, path: chosen.path!, version: chosen.version! } : null;
}

/** slirp4netns when installed (what rootless networking has used longest), else pasta. */
export async function networkHelper(): Promise<Binary | null> {
  return toBinary((await probeHelper('slirp4netns')) ?? (await probeHelper('pasta')));
}

/** A helper as `tspod version` shows it: Podman's version output uses Go's field names. */
export interface VersionBinary {
  Name: string;
  Path: string;
  Version: string;
}

export interface VersionInfo {
  Client: { Version: string; NodeVersion: string; Os: string; Arch: string; OsArch: string };
  Runtime: VersionBinary | null;
  Conmon: VersionBinary | null;
  NetworkHelper: VersionBinary | null;
}

function versionBinary(b: Binary | null): VersionBinary | null {
  return b && { Name: b.name, Path: b.path, Version: b.version };
}

export async function versionInfo(paths: StorePaths, tspodVersion: string, opts: { runtime?: string } = {}): Promise<VersionInfo> {
  const [runtime, conmon, network] = await Promise.all([chosenRuntime(paths, opts.runtime), probeHelper('conmon'), networkHelper()]);
  return {
    Client: {
      Version: tspodVersion,
      NodeVersion: process.version,
      Os: process.platform,
      Arch: goArch(),
      OsArch: `${process.platform}/${goArch()}`,
    },
    Runtime: versionBinary(runtime),
    Conmon: versionBinary(toBinary(conmon)),
    NetworkHelper: versionBinary(network),
  };
}
