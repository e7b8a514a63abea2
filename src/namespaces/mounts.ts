/**
 * A container's root filesystem: a kernel overlay mounted inside the user namespace's mount
 * namespace (the kernel allows it there since 5.11; the `userxattr` option makes overlay use the
 * user.overlay.* xattrs that extraction wrote), or fuse-overlayfs where the kernel refuses.
 */
import { execFile } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { promisify } from 'node:util';
import { TspodError } from '../core/errors.js';
import { prerequisiteError } from '../core/prerequisites.js';
import { findExecutable, HELPER_PATH, oneLine } from './helpers.js';
import type { NamespaceContext } from './userns.js';

const execFileAsync = promisify(execFile);

export interface OverlayDirs {
  /** layer dirs, top first */
  lowers: string[];
  upper: string;
  work: string;
  merged: string;
}

async function inNamespace(ns: NamespaceContext, argv: string[]): Promise<void> {
  const [cmd, ...args] = ns.wrap(argv);
  await execFileAsync(cmd, args, { env: { PATH: HELPER_PATH } });
}

export async function mountOverlay(ns: NamespaceContext, dirs: OverlayDirs): Promise<void> {
  const lowers = dirs.lowers.join(':');
  const options = `lowerdir=${lowers},upperdir=${dirs.upper},workdir=${dirs.work}`;
  // Mount options are limited to one page; Podman shortens layer paths with symlinks past that.
  if (options.length > 4000) throw new TspodError(`the image has too many layers to mount (${dirs.lowers.length})`, 'squash it (export | import)');
  try {
    await inNamespace(ns, ['mount', '-t', 'overlay', 'overlay', '-o', `${options},userxattr`, dirs.merged]);
    return;
  } catch (kernelError) {
    const fuse = findExecutable('fuse-overlayfs');
    if (!fuse) throw prerequisiteError('overlay-unavailable', oneLine(String((kernelError as { stderr?: string }).stderr ?? kernelError)));
    try {
      await inNamespace(ns, [fuse, '-o', options, dirs.merged]);
    } catch (e) {
      throw new TspodError(`cannot mount the container's root filesystem: ${oneLine(String((e as { stderr?: string }).stderr ?? e))}`);
    }
  }
}

/** Unmounts; a path that is not mounted is fine (cleanup runs more than once). */
export async function unmount(ns: NamespaceContext, merged: string): Promise<void> {
  await unmountAll(ns, [merged]);
}

/**
 * Unmounts those of `dirs` that are mounted, in one trip into the namespace (none when none
 * is); what does not come off at once is detached lazily. Never fails: a rootfs still mounted
 * keeps its container from being removed (mountsWithin), which reports it.
 */
export async function unmountAll(ns: NamespaceContext, dirs: string[]): Promise<void> {
  const mounted = mountedOf(ns, dirs);
  if (mounted.length === 0) return;
  try {
    await inNamespace(ns, ['umount', ...mounted]);
  } catch {
    const left = mountedOf(ns, mounted);
    if (left.length) await inNamespace(ns, ['umount', '-l', ...left]).catch(() => undefined);
  }
}

/**
 * The mount points of the namespace's mount table (the pause process's, or ours as root and
 * inside the namespace); undefined when it cannot be read.
 */
function mountPoints(ns: NamespaceContext): Set<string> | undefined {
  let mountinfo: string;
  try {
    mountinfo = readFileSync(`/proc/${ns.pausePid ?? 'self'}/mountinfo`, 'utf8');
  } catch {
    return undefined;
  }
  const points = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    // Field 5, with octal escapes (\040 for a space).
    const point = line.split(' ')[4];
    if (point) points.add(point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
  }
  return points;
}

/** Which of `dirs` are mount points (mount(8) records canonical paths); an unresolvable one, or any when the table cannot be read, counts as one: umount decides. */
function mountedOf(ns: NamespaceContext, dirs: string[]): string[] {
  const points = mountPoints(ns);
  if (!points) return dirs;
  return dirs.filter((dir) => {
    try {
      return points.has(realpathSync(dir));
    } catch (e) {
      return (e as NodeJS.ErrnoException).code !== 'ENOENT';
    }
  });
}

/**
 * The first mount point at or below each of `dirs` that has one: a tree rm --one-file-system
 * would remove only in part. Nothing known when the table cannot be read.
 */
export function mountsWithin(ns: NamespaceContext, dirs: string[]): Map<string, string> {
  const found = new Map<string, string>();
  const points = [...(mountPoints(ns) ?? [])];
  for (const dir of dirs) {
    let real: string;
    try {
      real = realpathSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      real = dir;
    }
    const point = points.find((p) => p === real || p.startsWith(`${real}/`));
    if (point) found.set(dir, point);
  }
  return found;
}
