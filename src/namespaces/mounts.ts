/**
 * A container's root filesystem: a kernel overlay mounted inside the user namespace's mount
 * namespace (the kernel allows it there since 5.11; the `userxattr` option makes overlay use the
 * user.overlay.* xattrs that extraction wrote), or fuse-overlayfs where the kernel refuses.
 */
import { execFile } from 'node:child_process';
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
  try {
    await inNamespace(ns, ['umount', merged]);
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? '');
    if (/not mounted|no mount point|not found/i.test(stderr)) return;
    await inNamespace(ns, ['umount', '-l', merged]).catch(() => undefined);
  }
}
