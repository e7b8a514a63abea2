/**
 * Paths inside a container's root filesystem, resolved the way the container itself would see
 * them (like openat2's RESOLVE_IN_ROOT, or Docker's FollowSymlinkInScope): every symlink met on
 * the way is followed with its target taken relative to the root (an absolute target restarts at
 * the root), and `..` never climbs above the root.
 *
 * A running container can swap any directory for a symlink between our check and our use (the
 * docker cp race, CVE-2018-15664), so a resolved path STRING proves nothing. Every directory on
 * the way is held open instead, and each lookup goes through `/proc/self/fd/FD/NAME`: the kernel
 * looks NAME up in the very directory FD is open on, wherever it has been moved since. Node has
 * no openat(); this magic link gives the same.
 */
import { closeSync, constants, fstatSync, openSync, readlinkSync, type Stats } from 'node:fs';
import { TspodError } from './errors.js';

/** Linux's own limit on symlinks followed while resolving one path. */
const MAX_SYMLINKS = 40;

/** O_PATH (Linux): a handle for lookups and fstat only; needs no read permission. */
const O_PATH = 0o10000000;
const PIN_FLAGS = O_PATH | constants.O_NOFOLLOW; // libuv adds O_CLOEXEC

/** Opens the directory at `hostPath` as a pin (O_PATH), refusing a symlink in its place. */
export function pinDir(hostPath: string): number {
  return openSync(hostPath, PIN_FLAGS | constants.O_DIRECTORY);
}

/** The path that names `name` inside the directory open on `fd`, whatever became of its path. */
export function inDir(fd: number, name: string): string {
  return `/proc/self/fd/${fd}/${name}`;
}

/**
 * Directories held open from a root down to the deepest one reached: `..` goes back up the chain,
 * never above its first element. A chain derived from another borrows the other's descriptors
 * (it must be closed first) and owns only those it opened itself.
 */
export class DirChain {
  private constructor(
    private readonly fds: number[],
    /** fds[ownedFrom..] were opened by this chain and are closed by close() */
    private ownedFrom: number,
  ) {}

  /** Opens `hostPath`, a trusted directory (a container's rootfs, or /), as the chain's root. */
  static openRoot(hostPath: string): DirChain {
    return new DirChain([pinDir(hostPath)], 0);
  }

  /** The deepest directory's descriptor. */
  get fd(): number {
    return this.fds[this.fds.length - 1]!;
  }

  /** `name` inside the deepest directory (see inDir). */
  at(name: string): string {
    return inDir(this.fd, name);
  }

  /** A chain that starts as this one; its own descriptors are its own. */
  derive(): DirChain {
    return new DirChain([...this.fds], this.fds.length);
  }

  push(fd: number): void {
    this.fds.push(fd);
  }

  /** One level up (`..`), stopping at the root. */
  up(): void {
    if (this.fds.length === 1) return;
    const fd = this.fds.pop()!;
    if (this.fds.length >= this.ownedFrom) closeSync(fd);
    else this.ownedFrom = this.fds.length;
  }

  toRoot(): void {
    while (this.fds.length > 1) this.up();
  }

  /** Opens the directory `name` in the deepest one (never through a symlink) and goes into it. */
  enter(name: string): void {
    this.push(pinDir(this.at(name)));
  }

  close(): void {
    for (const fd of this.fds.splice(this.ownedFrom)) closeSync(fd);
  }
}

export interface ResolveOptions {
  /** Follow a symlink in the last component too (default). Off: the link itself is meant. */
  followFinal?: boolean;
}

/** Where a path led: the deepest directory reached, held open, and what the path names below it. */
export interface InRootPath {
  dirs: DirChain;
  /**
   * [] the directory itself; [name] an entry of it, existing or not (a symlink when not followed,
   * or anything but a directory); longer: something under a missing entry or a non-directory.
   */
  rest: string[];
}

/**
 * Resolves `unsafePath` (as seen inside the container) from `start`: an absolute path from the
 * start's root, a relative one from its deepest directory. The result's chain borrows from
 * `start`, which must stay open until the result is closed.
 */
export function resolveIn(start: DirChain, unsafePath: string, opts: ResolveOptions = {}): InRootPath {
  const followFinal = opts.followFinal ?? true;
  const dirs = start.derive();
  const rest: string[] = [];
  let pending = splitPath(unsafePath);
  if (unsafePath.startsWith('/')) dirs.toRoot();
  let links = 0;
  try {
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '.') continue;
      if (part === '..') {
        // Lexical, like Docker's: a missing entry is simply dropped again.
        if (rest.length > 0) rest.pop();
        else dirs.up();
        continue;
      }
      const isLast = pending.every((p) => p === '.');
      if (rest.length > 0 || (isLast && !followFinal)) {
        rest.push(part);
        continue;
      }
      const found = lookUp(dirs, part);
      if (found === 'dir') continue;
      if (found === 'other') {
        rest.push(part);
        continue;
      }
      if (++links > MAX_SYMLINKS) throw new TspodError(`too many levels of symbolic links in ${unsafePath}`);
      if (found.target.startsWith('/')) dirs.toRoot();
      pending = [...splitPath(found.target), ...pending];
    }
    return { dirs, rest };
  } catch (e) {
    dirs.close();
    throw e;
  }
}

/**
 * Looks `name` up in the chain's deepest directory: a directory is entered (pinned), a symlink's
 * target returned, anything else (missing, a file) reported as 'other'.
 */
function lookUp(dirs: DirChain, name: string): 'dir' | 'other' | { target: string } {
  // Bounded: the entry may keep changing kind under a running container.
  for (let attempt = 0; attempt < MAX_SYMLINKS; attempt++) {
    let fd: number;
    try {
      fd = openSync(dirs.at(name), PIN_FLAGS);
    } catch (e) {
      if (isMissing(e)) return 'other';
      throw e;
    }
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    if (st.isDirectory()) {
      dirs.push(fd);
      return 'dir';
    }
    closeSync(fd);
    if (!st.isSymbolicLink()) return 'other';
    try {
      return { target: readlinkSync(dirs.at(name)) };
    } catch (e) {
      // EINVAL: no longer a symlink; look again.
      if ((e as NodeJS.ErrnoException).code !== 'EINVAL' && !isMissing(e)) throw e;
    }
  }
  throw new TspodError(`${name} keeps changing while being resolved`);
}

const isMissing = (e: unknown) => ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '');

function splitPath(p: string): string[] {
  return p.split('/').filter((c) => c !== '');
}
