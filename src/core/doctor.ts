/**
 * `tspod system check`: every host prerequisite, each probed for real (namespaces created,
 * overlay mounted, devices opened, helpers run), with the cause and the fix of each failure
 * taken from prerequisites.ts, the texts other commands raise too.
 */
import { readFile } from 'node:fs/promises';
import { findExecutable } from '../namespaces/helpers.js';
import {
  openReadWrite,
  overlayProbeParent,
  privilegeOf,
  probeHelper,
  probeIdMapping,
  probeOverlay,
  probeUserNamespace,
  readSysctl,
  type HelperBinary,
} from '../namespaces/probe.js';
import { probeRuntimes } from '../namespaces/runtime.js';
import { currentUser, parseSubIdFile, subIdFile, type SubIdKind, type SubIdRange, type SubIdUser } from '../namespaces/subid.js';
import type { IdMapping } from '../namespaces/userns.js';
import type { StorePaths } from '../store/paths.js';
import { problem, type Problem } from './prerequisites.js';

export interface Check {
  name: string;
  ok: boolean;
  /** a failing optional check is a warning: tspod works without it, minus a feature */
  required: boolean;
  /** what was found (passing checks) or the cause (failing ones) */
  detail: string;
  cause?: string;
  fix?: string;
}

export interface DoctorContext {
  paths: StorePaths;
  /** the --runtime choice, if any */
  runtime?: string;
}

function pass(name: string, detail: string, required = true): Check {
  return { name, ok: true, required, detail };
}

function fail(name: string, p: Problem, required = true): Check {
  return { name, ok: false, required, detail: p.cause, cause: p.cause, ...(p.fix ? { fix: p.fix } : {}) };
}

function describeRanges(ranges: SubIdRange[]): string {
  return ranges.map((r) => `${r.start}-${r.start + r.count - 1}`).join(', ');
}

/**
 * The first id after every range in a subid file (at least 100000, as useradd starts): where a
 * new range for the user can go without overlapping anyone's.
 */
function freeSubIdStart(text: string): number {
  let next = 100000;
  for (const line of text.split('\n')) {
    const [, start, count] = line.trim().split(':');
    if (/^\d+$/.test(start ?? '') && /^\d+$/.test(count ?? '')) next = Math.max(next, Number(start) + Number(count));
  }
  return next;
}

/** The user's subordinate ranges of one kind, read from the file newuidmap/newgidmap consult. */
export async function checkSubIds(kind: SubIdKind, user: SubIdUser = currentUser()): Promise<{ check: Check; ranges: SubIdRange[] }> {
  const file = subIdFile(kind);
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const ranges = parseSubIdFile(text, user);
  const who = user.name ?? String(user.uid);
  if (ranges.length === 0) return { check: fail(`sub${kind}`, problem('subid-missing', kind, who, file, freeSubIdStart(text))), ranges };
  const total = ranges.reduce((n, r) => n + r.count, 0);
  return { check: pass(`sub${kind}`, `${who}: ${describeRanges(ranges)} (${total} ids) in ${file}`), ranges };
}

/** newuidmap/newgidmap: installed, and setuid root or holding the capability to write id maps. */
export async function checkIdMapHelper(name: 'newuidmap' | 'newgidmap', file: string | undefined, required: boolean): Promise<Check> {
  if (!file) return fail(name, problem('helper-missing', name), required);
  const capability = name === 'newuidmap' ? 'cap_setuid' : 'cap_setgid';
  const privilege = await privilegeOf(file);
  if (privilege.setuidRoot) return pass(name, `${file} (setuid root)`, required);
  if (privilege.capabilities?.includes(capability)) return pass(name, `${file} (${privilege.capabilities})`, required);
  return fail(name, problem('idmap-helper-unprivileged', file, capability), required);
}

/**
 * User namespaces: the sysctls that forbid them (each with its own fix), then the real thing,
 * `unshare -U -r`, since a namespace limit can also be exhausted or denied by an LSM.
 */
export async function checkUserNamespaces(unshare: string | undefined, required: boolean): Promise<Check> {
  const name = 'user namespaces';
  const max = readSysctl('user.max_user_namespaces');
  if (max === '0') return fail(name, problem('userns-disabled'), required);
  if (readSysctl('kernel.unprivileged_userns_clone') === '0' && required) return fail(name, problem('userns-unprivileged-disabled'), required);
  if (readSysctl('kernel.apparmor_restrict_unprivileged_userns') === '1' && required) return fail(name, problem('userns-apparmor'), required);
  if (!unshare) return fail(name, problem('helper-missing', 'unshare'), required);
  const result = await probeUserNamespace(unshare);
  if (!result.ok) return fail(name, problem('userns-failed', result.stderr.trim() || 'unshare -U failed'), required);
  return pass(name, `unshare -U works${max ? ` (user.max_user_namespaces = ${max})` : ''}`, required);
}

function describeMap(map: IdMapping[]): string {
  return map.map((m) => `${m.containerID}->${m.hostID}${m.size > 1 ? ` (${m.size})` : ''}`).join(', ');
}

/** The full rootless mapping through newuidmap/newgidmap, as every rootless container gets it. */
export async function checkIdMapping(
  tools: { unshare: string; newuidmap: string; newgidmap: string },
  ranges: { uid: SubIdRange[]; gid: SubIdRange[] },
  user: SubIdUser = currentUser(),
): Promise<Check> {
  const result = await probeIdMapping(tools, ranges);
  if (result.ok) return pass('id mapping', `uids ${describeMap(result.uidMap!)}; gids ${describeMap(result.gidMap!)}`);
  const who = user.name ?? String(user.uid);
  if (result.failedStep === 'unshare') return fail('id mapping', problem('userns-failed', result.error!));
  const kind = result.failedStep === 'newgidmap' ? 'gid' : 'uid';
  return fail('id mapping', problem('idmap-failed', result.failedStep!, who, subIdFile(kind), result.error!));
}

/** A device this user must be able to open read-write; as root that always holds. */
export function checkDevice(device: string, required: boolean, purpose: string): Check {
  const result = openReadWrite(device);
  if (result.ok) return pass(device, `read-write for uid ${process.geteuid!()} (${purpose})`, required);
  if (result.code === 'ENOENT') return fail(device, problem('device-missing', device), required);
  return fail(device, problem('device-denied', device, process.geteuid!(), result.mode), required);
}

function describeHelper(h: HelperBinary): string {
  return `${h.name} ${h.version} (${h.path})`;
}

export async function checkRuntime(ctx: DoctorContext): Promise<Check> {
  const probes = await probeRuntimes(ctx.runtime, { runroot: ctx.paths.runroot, fresh: true });
  const chosen = probes.find((p) => p.usable);
  const others = probes
    .filter((p) => p !== chosen)
    .map((p) => `${p.name ?? p.requested}${p.version ? ` ${p.version}` : ''} not used: ${p.reason}`);
  if (!chosen) {
    if (ctx.runtime) return fail('OCI runtime', problem('runtime-unusable', ctx.runtime, probes[0].reason));
    return fail('OCI runtime', problem('runtime-missing', probes));
  }
  const note = chosen.hideUnifiedCgroup ? ', with /sys/fs/cgroup/unified hidden from it' : '';
  return pass('OCI runtime', [`${chosen.name} ${chosen.version} (${chosen.path})${note}`, ...others].join('; '));
}

export function checkHelper(name: string, helper: HelperBinary | undefined, required: boolean, purpose?: string): Check {
  if (!helper) return fail(name, problem('helper-missing', name), required);
  return pass(name, `${describeHelper(helper)}${purpose ? ` (${purpose})` : ''}`, required);
}

export function checkNetworkHelper(slirp: HelperBinary | undefined, pasta: HelperBinary | undefined): Check {
  const found = [slirp, pasta].filter((h): h is HelperBinary => h !== undefined);
  if (found.length === 0) return fail('network', problem('network-helper-missing'));
  return pass('network', found.map(describeHelper).join(', '));
}

/** Mounts a kernel overlay for real; the error says why it failed, undefined when it worked. */
export async function kernelOverlayError(ctx: DoctorContext, tools: { unshare?: string; mount?: string }): Promise<string | undefined> {
  if (!tools.unshare || !tools.mount) return `${tools.unshare ? 'mount' : 'unshare'} is not installed`;
  const where = overlayProbeParent(ctx.paths.root);
  try {
    const result = await probeOverlay({ unshare: tools.unshare, mount: tools.mount }, where, ctx.paths.rootless);
    return result.ok ? undefined : result.stderr.trim().split('\n')[0] || 'mount failed';
  } catch (e) {
    return `cannot create a scratch directory in ${where}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
}

/** The kernel's overlay, else fuse-overlayfs with a usable /dev/fuse. */
export function checkOverlay(kernelError: string | undefined, rootless: boolean, fuseOverlayfs: HelperBinary | undefined, fuseDevice: Check): Check {
  if (kernelError === undefined) return pass('overlay', `kernel overlay mounts${rootless ? ' in a user namespace (userxattr)' : ''}`);
  if (!fuseOverlayfs) return fail('overlay', problem('overlay-unavailable', kernelError));
  if (!fuseDevice.ok) return fail('overlay', { cause: `kernel overlay failed (${kernelError}); fuse-overlayfs needs ${fuseDevice.cause}`, fix: fuseDevice.fix });
  return pass('overlay', `${describeHelper(fuseOverlayfs)}; kernel overlay failed: ${kernelError}`);
}

/** Runs every check (independent probes in parallel) and returns them in a fixed order. */
export async function runChecks(ctx: DoctorContext): Promise<Check[]> {
  const rootless = ctx.paths.rootless;
  const user = currentUser();
  const tools = {
    unshare: findExecutable('unshare'),
    mount: findExecutable('mount'),
    newuidmap: findExecutable('newuidmap'),
    newgidmap: findExecutable('newgidmap'),
  };
  const [subuid, subgid, newuidmap, newgidmap, userns, overlayError, runtime, conmon, slirp, pasta, fuseOverlayfs, catatonit] = await Promise.all([
    rootless ? checkSubIds('uid', user) : undefined,
    rootless ? checkSubIds('gid', user) : undefined,
    checkIdMapHelper('newuidmap', tools.newuidmap, rootless),
    checkIdMapHelper('newgidmap', tools.newgidmap, rootless),
    checkUserNamespaces(tools.unshare, rootless),
    kernelOverlayError(ctx, tools),
    checkRuntime(ctx),
    probeHelper('conmon'),
    probeHelper('slirp4netns'),
    probeHelper('pasta'),
    probeHelper('fuse-overlayfs'),
    probeHelper('catatonit'),
  ]);
  const tun = checkDevice('/dev/net/tun', true, 'slirp4netns and pasta');
  // /dev/fuse only matters when fuse-overlayfs has to stand in for the kernel's overlay.
  const fuseDevice = checkDevice('/dev/fuse', overlayError !== undefined, 'fuse-overlayfs');
  const overlay = checkOverlay(overlayError, rootless, fuseOverlayfs, fuseDevice);

  const checks: Check[] = [];
  if (subuid && subgid) checks.push(subuid.check, subgid.check);
  checks.push(newuidmap, newgidmap, userns);
  if (subuid && subgid && subuid.check.ok && subgid.check.ok && newuidmap.ok && newgidmap.ok && userns.ok) {
    const idmapTools = { unshare: tools.unshare!, newuidmap: tools.newuidmap!, newgidmap: tools.newgidmap! };
    checks.push(await checkIdMapping(idmapTools, { uid: subuid.ranges, gid: subgid.ranges }, user));
  }
  checks.push(
    tun,
    fuseDevice,
    overlay,
    runtime,
    checkHelper('conmon', conmon, true),
    checkNetworkHelper(slirp, pasta),
    checkHelper('catatonit', catatonit, false, 'for --init'),
  );
  return checks;
}

/** Whether tspod can run containers here: every required check passed. */
export function allRequiredPass(checks: Check[]): boolean {
  return checks.every((c) => c.ok || !c.required);
}
