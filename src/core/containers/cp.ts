/**
 * `cp` with Docker's path rules (see `docker cp --help`): a source file or directory, `dir/.` for
 * a directory's contents, a destination that exists (a directory receives the source under its
 * own name, a file is overwritten) or not (created, provided its parent directory exists), and
 * `-` for a tar stream. Container paths are resolved inside the container's root (path-in-root),
 * and a tar read from stdin goes through the layer sanitizer first.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Engine } from '../engine.js';
import { TspodError } from '../errors.js';
import { sanitizeLayer } from '../layer-sanitize.js';
import { resolveInRoot } from '../path-in-root.js';
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

/** What is copied: the resolved host path and how its entries are named at the destination. */
interface Source {
  hostPath: string;
  isDir: boolean;
  /** `dir/.`: the directory's contents, not the directory */
  contents: boolean;
  /** the name the source has at the destination unless renamed */
  base: string;
}

/** Ends with `/` or `/.`: the path must be a directory. */
const assertsDirectory = (p: string) => p.endsWith('/') || p.endsWith('/.') || p === '.';

async function lstatOrUndefined(p: string) {
  return fs.lstat(p).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
    throw e;
  });
}

async function inspectSource(root: string, given: string, followLink: boolean, notFound: () => TspodError): Promise<Source> {
  const hostPath = resolveInRoot(root, given, { followFinal: followLink || assertsDirectory(given) });
  const st = await lstatOrUndefined(hostPath);
  if (!st) throw notFound();
  if (assertsDirectory(given) && !st.isDirectory()) throw new TspodError(`source path "${given}" is not a directory`);
  const base = path.basename(path.resolve('/', given));
  return { hostPath, isDir: st.isDirectory(), contents: given.endsWith('/.') || given === '.' || base === '', base };
}

/** Where the source goes: the directory that receives it and its name there ('' = its contents). */
async function planDestination(root: string, given: string, source: Source, missingDir: (dir: string) => TspodError): Promise<{ dir: string; name: string }> {
  const hostPath = resolveInRoot(root, given);
  const st = await lstatOrUndefined(hostPath);
  if (st?.isDirectory()) return { dir: hostPath, name: source.isDir && source.contents ? '' : source.base };
  if (st) {
    if (source.isDir) throw new TspodError(`cannot copy a directory to a file: "${given}" is a file`);
    if (assertsDirectory(given)) throw new TspodError(`destination "${given}" is not a directory`);
    return { dir: path.dirname(hostPath), name: path.basename(hostPath) };
  }
  if (!source.isDir && assertsDirectory(given)) throw new TspodError(`destination directory "${given}" does not exist`, 'create it first, or leave out the trailing "/" to copy to a file of that name');
  const parent = await lstatOrUndefined(path.dirname(hostPath));
  if (!parent?.isDirectory()) throw missingDir(path.dirname(path.resolve('/', given)));
  return { dir: path.dirname(hostPath), name: path.basename(hostPath) };
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
  const writeOpts = { keepOwners: request.archive };
  if (typeof source === 'object' && 'container' in source) {
    await withContainerRootfs(engine, source.container, async (root, record) => {
      const src = await inspectSource(root, source.path, request.followLink, () => new TspodError(`could not find the file ${source.path} in container ${record.name}`));
      if (destination === 'stdio') {
        await packTree(walkTree(src.hostPath, { topName: src.contents && src.isDir ? '' : src.base }), streams.stdout);
        return;
      }
      const local = (destination as { local: string }).local;
      const plan = await planDestination('/', local, src, (dir) => new TspodError(`no such directory: ${dir}`, 'the destination\'s parent directory must exist'));
      await writeTree('/', plan.dir, walkTree(src.hostPath, { topName: plan.name }), writeOpts);
    });
    return;
  }
  const target = destination as { container: string; path: string };
  const ns = await engine.namespace();
  await withContainerRootfs(engine, target.container, async (root, record) => {
    const missingDir = (dir: string) => new TspodError(`could not find the directory ${dir} in container ${record.name}`, 'the destination\'s parent directory must exist');
    if (source === 'stdio') {
      const dir = resolveInRoot(root, target.path);
      const st = await lstatOrUndefined(dir);
      if (!st) throw missingDir(path.resolve('/', target.path));
      if (!st.isDirectory()) throw new TspodError(`destination "${record.name}:${target.path}" must be a directory`, 'a tar stream from stdin is extracted into a directory');
      const sanitized = streams.stdin.pipe(sanitizeLayer({ digest: 'stdin', rootless: ns.rootless, label: 'the tar stream on stdin' }));
      streams.stdin.once('error', (e) => sanitized.destroy(e));
      await writeTree(root, dir, unpackTar(sanitized), writeOpts);
      return;
    }
    const local = (source as { local: string }).local;
    const src = await inspectSource('/', local, request.followLink, () => new TspodError(`no such file or directory: ${local}`));
    const plan = await planDestination(root, target.path, src, missingDir);
    await writeTree(root, plan.dir, walkTree(src.hostPath, { topName: plan.name }), writeOpts);
  });
}
