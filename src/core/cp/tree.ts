/**
 * File trees as streams of entries: read from a directory (never following a symlink), written
 * into a directory inside a root (every parent resolved inside that root, nothing created through
 * a symlink; directories held open so that a running container cannot redirect either), packed
 * into a tar or read from a sanitized one. `cp` and `export` are these pieces put together; they
 * run as root, or as root of the user namespace.
 */
import { closeSync, constants, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { TspodError } from '../errors.js';
import { inDir, pinDir, resolveIn, type DirChain } from '../path-in-root.js';

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
  /** a regular file's content; walkTree's must be opened before the next entry is asked for */
  open?: () => Promise<Readable>;
}

export interface WalkOptions {
  /** the top entry's name; '' means only what is inside the directory (`cp dir/. dest`) */
  topName: string;
}

/**
 * Walks `name` in the directory open on `dirFd` ('.': that directory itself) with lstat: symlinks
 * are entries, never followed. Hardlinks are kept as such. Each directory is held open while its
 * entries are read through it (see inDir): one swapped for a symlink by a running container is
 * skipped, never followed.
 */
export async function* walkTree(dirFd: number, name: string, opts: WalkOptions): AsyncGenerator<TreeEntry> {
  const seen = new Map<string, string>();
  async function* visit(parentFd: number, child: string, name: string, st: Stats): AsyncGenerator<TreeEntry> {
    const at = inDir(parentFd, child);
    const base = { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, linkname: '', size: 0 };
    if (st.isDirectory()) {
      let fd: number;
      try {
        fd = pinDir(at);
      } catch (e) {
        if (changedMeanwhile(e)) return;
        throw e;
      }
      try {
        if (name !== '') yield { ...base, kind: 'dir' };
        for (const entry of (await fs.readdir(inDir(fd, '.'))).sort()) {
          let entryStat: Stats;
          try {
            entryStat = await fs.lstat(inDir(fd, entry));
          } catch (e) {
            if (changedMeanwhile(e)) continue;
            throw e;
          }
          yield* visit(fd, entry, name === '' ? entry : `${name}/${entry}`, entryStat);
        }
      } finally {
        closeSync(fd);
      }
    } else if (st.isSymbolicLink()) {
      let linkname: string;
      try {
        linkname = await fs.readlink(at);
      } catch (e) {
        if (changedMeanwhile(e)) return;
        throw e;
      }
      yield { ...base, kind: 'symlink', linkname };
    } else if (st.isFile()) {
      const inode = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? seen.get(inode) : undefined;
      if (first !== undefined) {
        yield { ...base, kind: 'hardlink', linkname: first };
        return;
      }
      if (st.nlink > 1) seen.set(inode, name);
      yield { ...base, kind: 'file', size: st.size, open: () => openRegularFile(at, name) };
    }
    // Sockets, fifos and devices are not copied (they cannot be recreated without mknod).
  }
  yield* visit(dirFd, name, opts.topName, await fs.lstat(inDir(dirFd, name)));
}

/** The entry was removed, or swapped for something else (a symlink: ELOOP), since it was listed. */
function changedMeanwhile(e: unknown): boolean {
  return ['ENOENT', 'ENOTDIR', 'ELOOP', 'EINVAL'].includes((e as NodeJS.ErrnoException).code ?? '');
}

async function openRegularFile(at: string, name: string): Promise<Readable> {
  // O_NOFOLLOW: a symlink swapped in since lstat is refused; O_NONBLOCK: a fifo swapped in does
  // not hang the open, and is refused below like any other non-file.
  const handle = await fs.open(at, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  if (!(await handle.stat()).isFile()) {
    await handle.close();
    throw new TspodError(`"${name}" was replaced by something other than a file while being copied`);
  }
  return handle.createReadStream();
}

export interface WriteOptions {
  /** Keep the entries' uid/gid (`cp -a`); otherwise files belong to whoever writes them. */
  keepOwners: boolean;
}

/**
 * Writes `entries` into `dest`, a directory held open with the chain from its root (a container's
 * rootfs, or / for the host). Each entry's parent is resolved from there inside the root, so a
 * symlink in the destination can only lead somewhere else inside it; every name is then created
 * or changed through its parent's descriptor, and the entry itself never goes through a symlink
 * (an existing symlink or file in its place is replaced, a directory is merged into).
 */
export async function writeTree(dest: DirChain, entries: AsyncIterable<TreeEntry>, opts: WriteOptions): Promise<void> {
  const dirs: TreeEntry[] = [];
  for await (const entry of entries) {
    const parent = resolveIn(dest, path.dirname(entry.name));
    try {
      if (parent.rest.length > 0) throw new TspodError(`cannot copy "${entry.name}": "${path.dirname(entry.name)}" is not a directory`);
      await writeEntry(dest, parent.dirs, path.basename(entry.name), entry, opts);
    } finally {
      parent.dirs.close();
    }
    if (entry.kind === 'dir') dirs.push(entry);
  }
  // Directories last, deepest first: writing into them changed their mtimes.
  for (const entry of dirs.reverse()) {
    const found = resolveIn(dest, entry.name, { followFinal: false });
    try {
      if (found.rest.length === 1) await applyMetadata(found.dirs.at(found.rest[0]!), entry, opts);
    } finally {
      found.dirs.close();
    }
  }
}

async function writeEntry(dest: DirChain, parent: DirChain, name: string, entry: TreeEntry, opts: WriteOptions): Promise<void> {
  const target = parent.at(name);
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
    return;
  }
  if (existing) await fs.unlink(target);
  switch (entry.kind) {
    case 'file':
      return writeFile(target, entry, opts);
    case 'symlink':
      await fs.symlink(entry.linkname, target);
      if (opts.keepOwners) await fs.lchown(target, entry.uid, entry.gid);
      return fs.lutimes(target, entry.mtime, entry.mtime);
    case 'hardlink': {
      // The link shares its target's metadata. Its target is resolved inside the root too.
      const source = resolveIn(dest, entry.linkname, { followFinal: false });
      try {
        if (source.rest.length !== 1) throw new TspodError(`cannot link "${entry.name}" to "${entry.linkname}": no such file`);
        return await fs.link(source.dirs.at(source.rest[0]!), target);
      } finally {
        source.dirs.close();
      }
    }
  }
}

async function writeFile(target: string, entry: TreeEntry, opts: WriteOptions): Promise<void> {
  // O_EXCL|O_NOFOLLOW: the name was just made free; whatever appeared there since is not followed.
  const handle = await fs.open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    // Written through the handle (not a stream of it): it stays open for the metadata below.
    for await (const chunk of entry.open ? await entry.open() : []) {
      const data = chunk as Buffer;
      for (let done = 0; done < data.length; ) done += (await handle.write(data, done)).bytesWritten;
    }
    await setMetadata(handle, entry, opts);
  } finally {
    await handle.close();
  }
}

/** A directory's metadata, through a descriptor opened without following a symlink. */
async function applyMetadata(target: string, entry: TreeEntry, opts: WriteOptions): Promise<void> {
  const handle = await fs.open(target, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_DIRECTORY);
  try {
    await setMetadata(handle, entry, opts);
  } finally {
    await handle.close();
  }
}

async function setMetadata(handle: fs.FileHandle, entry: TreeEntry, opts: WriteOptions): Promise<void> {
  if (opts.keepOwners) await handle.chown(entry.uid, entry.gid);
  await handle.chmod(entry.mode);
  await handle.utimes(entry.mtime, entry.mtime);
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
