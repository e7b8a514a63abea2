/**
 * `diff`: what a container changed, from its overlay upper directory compared with its image's
 * layers: A (added), C (changed; also every directory whose contents changed), D (deleted: an
 * overlay whiteout, or what an opaque directory hides), sorted by path like Docker.
 */
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine.js';
import { opaqueDirectories } from '../../namespaces/xattr.js';
import { requireContainerRecord } from './rootfs.js';
import { lowerDirs } from './start.js';

export type ChangeKind = 'A' | 'C' | 'D';

export interface Change {
  kind: ChangeKind;
  path: string;
}

/**
 * Mount points the runtime creates in the rootfs for every container, not changes the container
 * made: left out, as Podman does (Docker keeps them in its init layer).
 */
const RUNTIME_PATHS = new Set(['/dev', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf', '/etc/mtab', '/proc', '/run', '/sys']);

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  return fs.lstat(p).catch(() => undefined);
}

/** Whether `rel` exists in the image: the topmost layer that has it (or a whiteout of it) decides. */
async function inImage(lowers: string[], rel: string): Promise<boolean> {
  for (const lower of lowers) {
    const st = await lstatOrUndefined(path.join(lower, rel));
    if (st) return !isWhiteout(st);
  }
  return false;
}

/** Names in directory `rel` of the image (the union of its layers, without whiteouts). */
async function imageChildren(lowers: string[], rel: string): Promise<string[]> {
  const names = new Set<string>();
  for (const lower of lowers) {
    const children = await fs.readdir(path.join(lower, rel)).catch(() => [] as string[]);
    for (const child of children) if (await inImage(lowers, path.join(rel, child))) names.add(child);
  }
  return [...names];
}

/** The container's changes. Runs as root or root of the user namespace (upper files are theirs). */
export async function containerChanges(engine: Engine, input: string): Promise<Change[]> {
  const record = requireContainerRecord(engine, input);
  const { upper } = engine.containers.containerPaths(record.id);
  const lowers = lowerDirs(engine, record);
  const changes = new Map<string, ChangeKind>();
  const modifiedDirs: string[] = [];

  async function walk(rel: string): Promise<void> {
    for (const name of await fs.readdir(path.join(upper, rel))) {
      const child = rel === '' ? name : `${rel}/${name}`;
      const st = await fs.lstat(path.join(upper, child));
      if (isWhiteout(st)) {
        changes.set(child, 'D');
        continue;
      }
      const existed = await inImage(lowers, child);
      changes.set(child, existed ? 'C' : 'A');
      if (st.isDirectory()) {
        if (existed) modifiedDirs.push(child);
        await walk(child);
      }
    }
  }
  await walk('');
  for (const dir of await opaqueDirectories(await engine.namespace(), upper, modifiedDirs)) {
    for (const name of await imageChildren(lowers, dir)) {
      const child = `${dir}/${name}`;
      if (!changes.has(child)) changes.set(child, 'D');
    }
  }
  // Like Docker: the parent of an added or deleted path counts as changed.
  for (const [p, kind] of [...changes]) {
    const parent = path.dirname(p);
    if (kind !== 'C' && parent !== '.' && !changes.has(parent)) changes.set(parent, 'C');
  }
  return [...changes]
    .map(([p, kind]) => ({ kind, path: `/${p}` }))
    .filter((c) => !RUNTIME_PATHS.has(c.path))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
