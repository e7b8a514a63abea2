/**
 * File trees as streams of entries: read from a directory (never following a symlink), written
 * into a directory inside a root (every parent resolved inside that root, nothing created through
 * a symlink), packed into a tar or read from a sanitized one. `cp` and `export` are these pieces
 * put together; they run as root, or as root of the user namespace.
 */
import { constants, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { TspodError } from '../errors.js';
import { resolveInRoot } from '../path-in-root.js';

export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface TreeEntry {
  /** relative to the tree's top, '/'-separated, never '' */
  name: string;
  kind: EntryKind;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  /** symlink target, or the name (in this tree) of the entry a hardlink repeats */
  linkname: string;
  size: number;
  /** a regular file's content */
  open?: () => Promise<Readable>;
}

export interface WalkOptions {
  /** the top entry's name; '' means only what is inside the directory (`cp dir/. dest`) */
  topName: string;
  /** entries the walk must not descend into or emit (host paths) */
  skip?: (hostPath: string) => boolean;
}

/** Walks `top` with lstat: symlinks are entries, never followed. Hardlinks are kept as such. */
export async function* walkTree(top: string, opts: WalkOptions): AsyncGenerator<TreeEntry> {
  const seen = new Map<string, string>();
  async function* visit(hostPath: string, name: string, st: Stats): AsyncGenerator<TreeEntry> {
    const base = { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, linkname: '', size: 0 };
    if (st.isDirectory()) {
      if (name !== '') yield { ...base, kind: 'dir' };
      const children = (await fs.readdir(hostPath)).sort();
      for (const child of children) {
        const childPath = path.join(hostPath, child);
        if (opts.skip?.(childPath)) continue;
        let childStat: Stats;
        try {
          childStat = await fs.lstat(childPath);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile (a running container)
          throw e;
        }
        yield* visit(childPath, name === '' ? child : `${name}/${child}`, childStat);
      }
    } else if (st.isSymbolicLink()) {
      yield { ...base, kind: 'symlink', linkname: await fs.readlink(hostPath) };
    } else if (st.isFile()) {
      const inode = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? seen.get(inode) : undefined;
      if (first !== undefined) {
        yield { ...base, kind: 'hardlink', linkname: first };
        return;
      }
      if (st.nlink > 1) seen.set(inode, name);
      // O_NOFOLLOW: a file swapped for a symlink since lstat is refused, not followed.
      yield { ...base, kind: 'file', size: st.size, open: async () => (await fs.open(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW)).createReadStream() };
    }
    // Sockets, fifos and devices are not copied (they cannot be recreated without mknod).
  }
  const st = await fs.lstat(top);
  yield* visit(top, opts.topName, st);
}

export interface WriteOptions {
  /** Keep the entries' uid/gid (`cp -a`); otherwise files belong to whoever writes them. */
  keepOwners: boolean;
}

/**
 * Writes `entries` into `destDir`, which lies inside `root` (a container's rootfs, or / for the
 * host). Each entry's parent is resolved inside `root`, so a symlink in the destination can only
 * lead somewhere else inside it; the entry itself never goes through one (an existing symlink or
 * file in its place is replaced, a directory is merged into).
 */
export async function writeTree(root: string, destDir: string, entries: AsyncIterable<TreeEntry>, opts: WriteOptions): Promise<void> {
  const destInRoot = path.relative(root, destDir);
  const dirs: { hostPath: string; entry: TreeEntry }[] = [];
  for await (const entry of entries) {
    const parent = resolveInRoot(root, path.join(destInRoot, path.dirname(entry.name)));
    const target = path.join(parent, path.basename(entry.name));
    const existing = await fs.lstat(target).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (existing?.isDirectory() && entry.kind !== 'dir') {
      throw new TspodError(`cannot overwrite directory "${entry.name}" with a non-directory`);
    }
    if (entry.kind === 'dir') {
      if (!existing?.isDirectory()) {
        if (existing) await fs.unlink(target);
        // Owner-writable until the end: a read-only directory must still receive its contents.
        await fs.mkdir(target, { mode: 0o700 });
      }
      dirs.push({ hostPath: target, entry });
      continue;
    }
    if (existing) await fs.unlink(target);
    switch (entry.kind) {
      case 'file':
        await writeFile(target, entry);
        break;
      case 'symlink':
        await fs.symlink(entry.linkname, target);
        break;
      case 'hardlink':
        await fs.link(resolveInRoot(root, path.join(destInRoot, entry.linkname), { followFinal: false }), target);
        continue; // the link shares its target's metadata
    }
    await applyMetadata(target, entry, opts);
  }
  // Directories last, deepest first: writing into them changed their mtimes.
  for (const { hostPath, entry } of dirs.reverse()) await applyMetadata(hostPath, entry, opts);
}

async function writeFile(target: string, entry: TreeEntry): Promise<void> {
  // O_EXCL|O_NOFOLLOW: the name was just made free; whatever appeared there since is not followed.
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const out = (await fs.open(target, flags, 0o600)).createWriteStream();
  if (entry.open) await pipeline(await entry.open(), out);
  else await new Promise<void>((resolve, reject) => out.once('error', reject).end(resolve));
}

async function applyMetadata(target: string, entry: TreeEntry, opts: WriteOptions): Promise<void> {
  if (entry.kind === 'symlink') {
    if (opts.keepOwners) await fs.lchown(target, entry.uid, entry.gid);
    await fs.lutimes(target, entry.mtime, entry.mtime);
    return;
  }
  // Through a descriptor opened without following: had a running container swapped the name for
  // a symlink meanwhile, chmod/chown by name would change the link's target.
  const handle = await fs.open(target, constants.O_RDONLY | constants.O_NOFOLLOW | (entry.kind === 'dir' ? constants.O_DIRECTORY : 0));
  try {
    if (opts.keepOwners) await handle.chown(entry.uid, entry.gid);
    await handle.chmod(entry.mode);
    await handle.utimes(entry.mtime, entry.mtime);
  } finally {
    await handle.close();
  }
}

/** Packs entries into a tar stream (numeric owners, as they are in the tree). */
export function packTree(entries: AsyncIterable<TreeEntry>, out: Writable): Promise<void> {
  const pack = tar.pack();
  const done = pipeline(pack, out);
  const fill = (async () => {
    try {
      for await (const entry of entries) {
        const header = {
          name: entry.kind === 'dir' ? `${entry.name}/` : entry.name,
          type: entry.kind === 'hardlink' ? 'link' : entry.kind === 'dir' ? 'directory' : entry.kind,
          mode: entry.mode,
          uid: entry.uid,
          gid: entry.gid,
          mtime: entry.mtime,
          ...(entry.linkname ? { linkname: entry.linkname } : {}),
          size: entry.kind === 'file' ? entry.size : 0,
        } as tar.Header;
        if (entry.kind === 'file' && entry.open) {
          const body = pack.entry(header);
          await pipeline(await entry.open(), body);
        } else {
          await new Promise<void>((resolve, reject) => pack.entry(header, (e) => (e ? reject(e) : resolve())));
        }
      }
      pack.finalize();
    } catch (e) {
      pack.destroy(e as Error);
      throw e;
    }
  })();
  return Promise.all([done, fill]).then(() => undefined);
}

/**
 * The entries of a tar stream that went through the layer sanitizer (names normalized and
 * relative, no `..`). Devices, fifos and whiteouts are skipped, as cp cannot create them.
 */
export async function* unpackTar(input: Readable): AsyncGenerator<TreeEntry> {
  const extract = tar.extract();
  input.on('error', (e) => extract.destroy(e));
  input.pipe(extract);
  for await (const stream of extract) {
    const h = stream.header;
    const kind: EntryKind | undefined =
      h.type === 'file' || h.type === 'contiguous-file' ? 'file' : h.type === 'directory' ? 'dir' : h.type === 'symlink' ? 'symlink' : h.type === 'link' ? 'hardlink' : undefined;
    const name = h.name.replace(/\/+$/, '');
    if (kind === undefined || name === '' || name === '.') {
      stream.resume();
      continue;
    }
    yield {
      name,
      kind,
      mode: (h.mode ?? 0o644) & 0o7777,
      uid: h.uid ?? 0,
      gid: h.gid ?? 0,
      mtime: h.mtime ?? new Date(),
      linkname: h.linkname ?? '',
      size: h.size ?? 0,
      open: kind === 'file' ? async () => stream as unknown as Readable : undefined,
    };
    stream.resume();
  }
}
