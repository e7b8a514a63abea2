/**
 * `cp` with Docker's path rules (see `docker cp --help`): a source file or directory, `dir/.` for
 * a directory's contents, a destination that exists (a directory receives the source under its
 * own name, a file is overwritten) or not (created, provided its parent directory exists), and
 * `-` for a tar stream. Container paths are resolved inside the container's root (path-in-root),
 * every directory on the way held open so that a running container cannot redirect the copy,
 * and a tar read from stdin goes through the layer sanitizer first.
 */
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Engine } from '../engine.js';
import { TspodError } from '../errors.js';
import { sanitizeLayer } from '../layer-sanitize.js';
import { DirChain, resolveIn, type InRootPath } from '../path-in-root.js';
import { packTree, unpackTar, walkTree, writeTree } from '../cp/tree.js';
import { withContainerRootfs } from './rootfs.js';

/** One side of a copy: a path in a container, a local path, or `-` (a tar stream). */
export type CopyLocation = { container: string; path: string } | { local: string } | 'stdio';

export interface CopyRequest {
  source: CopyLocation;
  destination: CopyLocation;
  /** -a: keep the source's uid/gid */
  archive: boolean;
  /** -L: a source that is a symlink means its target */
  followLink: boolean;
}

/** Docker's reading of a cp argument: `CONTAINER:PATH` unless it is `-`, absolute or starts with `.`. */
export function parseCopyLocation(arg: string): CopyLocation {
  if (arg === '-') return 'stdio';
  const colon = arg.indexOf(':');
  if (arg.startsWith('/') || arg.startsWith('.') || colon < 0) return { local: arg };
  const container = arg.slice(0, colon);
  const inside = arg.slice(colon + 1);
  if (container === '') throw new TspodError(`invalid argument "${arg}"`, 'name the container: CONTAINER:PATH');
  if (inside === '') throw new TspodError(`invalid argument "${arg}"`, 'give a path in the container: CONTAINER:PATH');
  return { container, path: inside };
}

export function parseCopyRequest(source: string, destination: string, flags: { archive: boolean; followLink: boolean }): CopyRequest {
  const request = { source: parseCopyLocation(source), destination: parseCopyLocation(destination), ...flags };
  const inContainer = (l: CopyLocation) => typeof l === 'object' && 'container' in l;
  if (inContainer(request.source) && inContainer(request.destination)) throw new TspodError('copying between containers is not supported');
  if (!inContainer(request.source) && !inContainer(request.destination)) {
    throw new TspodError('must specify at least one container source', 'use CONTAINER:SRC_PATH DEST_PATH|- or SRC_PATH|- CONTAINER:DEST_PATH');
  }
  return request;
}

/** What is copied: `name` in the directory `dirs` holds open ('.': that directory itself). */
interface Source {
  dirs: DirChain;
  name: string;
  isDir: boolean;
  /** `dir/.`: the directory's contents, not the directory */
  contents: boolean;
  /** the name the source has at the destination unless renamed */
  base: string;
}

/** Ends with `/` or `/.`: the path must be a directory. */
const assertsDirectory = (p: string) => p.endsWith('/') || p.endsWith('/.') || p === '.';

/** What a resolved path names and its lstat; undefined when it does not exist. */
async function statResolved(found: InRootPath): Promise<{ name: string; st: Stats } | undefined> {
  if (found.rest.length > 1) return undefined;
  const name = found.rest[0] ?? '.';
  const st = await fs.lstat(found.dirs.at(name)).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
    throw e;
  });
  return st && { name, st };
}

/** Runs `fn` with `found`, closing its descriptors if `fn` fails (on success they are the result's). */
async function closingOnError<T>(found: InRootPath, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    found.dirs.close();
    throw e;
  }
}

function inspectSource(root: DirChain, given: string, followLink: boolean, notFound: () => TspodError): Promise<Source> {
  const found = resolveIn(root, given, { followFinal: followLink || assertsDirectory(given) });
  return closingOnError(found, async () => {
    const entry = await statResolved(found);
    if (!entry) throw notFound();
    if (assertsDirectory(given) && !entry.st.isDirectory()) throw new TspodError(`source path "${given}" is not a directory`);
    const base = path.basename(path.resolve('/', given));
    return { dirs: found.dirs, name: entry.name, isDir: entry.st.isDirectory(), contents: given.endsWith('/.') || given === '.' || base === '', base };
  });
}

/** Where the source goes: the directory that receives it, held open, and its name there ('' = its contents). */
function planDestination(root: DirChain, given: string, source: Source, missingDir: (dir: string) => TspodError): Promise<{ dir: DirChain; name: string }> {
  const found = resolveIn(root, given);
  return closingOnError(found, async () => {
    const entry = await statResolved(found);
    if (entry?.st.isDirectory()) {
      if (entry.name !== '.') found.dirs.enter(entry.name);
      return { dir: found.dirs, name: source.isDir && source.contents ? '' : source.base };
    }
    if (entry) {
      if (source.isDir) throw new TspodError(`cannot copy a directory to a file: "${given}" is a file`);
      if (assertsDirectory(given)) throw new TspodError(`destination "${given}" is not a directory`);
      return { dir: found.dirs, name: entry.name };
    }
    if (!source.isDir && assertsDirectory(given)) throw new TspodError(`destination directory "${given}" does not exist`, 'create it first, or leave out the trailing "/" to copy to a file of that name');
    // Only a missing last entry: its parent is the directory reached.
    if (found.rest.length !== 1) throw missingDir(path.dirname(path.resolve('/', given)));
    return { dir: found.dirs, name: found.rest[0]! };
  });
}

/** Copies `source` (resolved in `from`) to `destination` (resolved in `to`) with Docker's rules. */
async function copyBetween(
  from: DirChain,
  source: { path: string; notFound: () => TspodError },
  to: DirChain,
  destination: { path: string; missingDir: (dir: string) => TspodError },
  request: CopyRequest,
): Promise<void> {
  const src = await inspectSource(from, source.path, request.followLink, source.notFound);
  try {
    const plan = await planDestination(to, destination.path, src, destination.missingDir);
    try {
      await writeTree(plan.dir, walkTree(src.dirs.fd, src.name, { topName: plan.name }), { keepOwners: request.archive });
    } finally {
      plan.dir.close();
    }
  } finally {
    src.dirs.close();
  }
}

/** Runs `fn` with the directory `hostPath` held open as the root that paths are resolved in. */
async function withRoot<T>(hostPath: string, fn: (root: DirChain) => Promise<T>): Promise<T> {
  const root = DirChain.openRoot(hostPath);
  try {
    return await fn(root);
  } finally {
    root.close();
  }
}

export interface CopyStreams {
  stdin: Readable;
  stdout: Writable;
}

/**
 * Performs the copy. Runs as root or as root of the user namespace (the CLI re-runs itself there
 * when rootless): container files belong to ids only that namespace can use.
 */
export async function copy(engine: Engine, request: CopyRequest, streams: CopyStreams): Promise<void> {
  const { source, destination } = request;
  if (typeof source === 'object' && 'container' in source) {
    await withContainerRootfs(engine, source.container, (rootfs, record) =>
      withRoot(rootfs, async (root) => {
        const notFound = () => new TspodError(`could not find the file ${source.path} in container ${record.name}`);
        if (destination !== 'stdio') {
          const missingDir = (dir: string) => new TspodError(`no such directory: ${dir}`, 'the destination\'s parent directory must exist');
          const local = (destination as { local: string }).local;
          return withRoot('/', (host) => copyBetween(root, { path: source.path, notFound }, host, { path: local, missingDir }, request));
        }
        const src = await inspectSource(root, source.path, request.followLink, notFound);
        try {
          await packTree(walkTree(src.dirs.fd, src.name, { topName: src.contents && src.isDir ? '' : src.base }), streams.stdout);
        } finally {
          src.dirs.close();
        }
      }),
    );
    return;
  }
  const target = destination as { container: string; path: string };
  const ns = await engine.namespace();
  await withContainerRootfs(engine, target.container, (rootfs, record) =>
    withRoot(rootfs, async (root) => {
      const missingDir = (dir: string) => new TspodError(`could not find the directory ${dir} in container ${record.name}`, 'the destination\'s parent directory must exist');
      if (source !== 'stdio') {
        const local = (source as { local: string }).local;
        const notFound = () => new TspodError(`no such file or directory: ${local}`);
        return withRoot('/', (host) => copyBetween(host, { path: local, notFound }, root, { path: target.path, missingDir }, request));
      }
      const found = resolveIn(root, target.path);
      try {
        const entry = await statResolved(found);
        if (!entry) throw missingDir(path.resolve('/', target.path));
        if (!entry.st.isDirectory()) throw new TspodError(`destination "${record.name}:${target.path}" must be a directory`, 'a tar stream from stdin is extracted into a directory');
        if (entry.name !== '.') found.dirs.enter(entry.name);
        const sanitized = streams.stdin.pipe(sanitizeLayer({ digest: 'stdin', rootless: ns.rootless, label: 'the tar stream on stdin' }));
        streams.stdin.once('error', (e) => sanitized.destroy(e));
        await writeTree(found.dirs, unpackTar(sanitized), { keepOwners: request.archive });
      } finally {
        found.dirs.close();
      }
    }),
  );
}
