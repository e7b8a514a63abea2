/**
 * Paths inside a container's root filesystem, resolved the way the container itself would see
 * them (like Docker's FollowSymlinkInScope / Go's securejoin): every symlink met on the way is
 * followed with its target taken relative to the root (an absolute target restarts at the root),
 * and `..` never climbs above the root. So no path, however crafted by the container's own
 * symlinks, resolves to a host path outside `root`.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { TspodError } from './errors.js';

/** Linux's own limit on symlinks followed while resolving one path. */
const MAX_SYMLINKS = 40;

export interface ResolveOptions {
  /** Follow a symlink in the last component too (default). Off: the link itself is meant. */
  followFinal?: boolean;
}

/**
 * The host path that `unsafePath` (as seen inside the container) names under `root`. Missing
 * components are kept as they are, so the result is also where a new file would be created.
 */
export function resolveInRoot(root: string, unsafePath: string, opts: ResolveOptions = {}): string {
  const followFinal = opts.followFinal ?? true;
  const resolved: string[] = [];
  let pending = splitPath(unsafePath);
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const candidate = path.join(root, ...resolved, part);
    const isLast = pending.every((p) => p === '.');
    if (isLast && !followFinal) {
      resolved.push(part);
      continue;
    }
    let target: string | undefined;
    try {
      if (lstatSync(candidate).isSymbolicLink()) target = readlinkSync(candidate);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
    }
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new TspodError(`too many levels of symbolic links in ${unsafePath}`);
    if (target.startsWith('/')) resolved.length = 0;
    pending = [...splitPath(target), ...pending];
  }
  return path.join(root, ...resolved);
}

function splitPath(p: string): string[] {
  return p.split('/').filter((c) => c !== '');
}

/** `p` relative to `root`, for messages: always absolute, as the container sees it. */
export function pathInContainer(root: string, p: string): string {
  return `/${path.relative(root, p)}`;
}
