/**
 * `export`: a container's whole filesystem (the merged overlay; volumes and the runtime's mounts
 * are not in it) as a plain tar with relative names and the numeric owners seen inside the
 * container, which is what `import` reads back.
 */
import { closeSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Engine } from '../engine.js';
import { TspodError } from '../errors.js';
import { packTree, walkTree } from '../cp/tree.js';
import { pinDir } from '../path-in-root.js';
import { withContainerRootfs } from './rootfs.js';

/** Writes the tar to `out`. Runs as root or root of the user namespace. */
export async function exportContainer(engine: Engine, input: string, out: Writable): Promise<void> {
  await withContainerRootfs(engine, input, async (rootfs) => {
    const root = pinDir(rootfs);
    try {
      await packTree(walkTree(root, '.', { topName: '' }), out);
    } finally {
      closeSync(root);
    }
  });
}

/** Writes the tar to `file` atomically: a temporary file next to it, renamed once complete. */
export async function exportContainerToFile(engine: Engine, input: string, file: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const handle = await fs.open(tmp, 'wx', 0o644).catch((e: NodeJS.ErrnoException) => {
    throw new TspodError(`cannot write ${file}: ${e.code === 'ENOENT' ? 'no such directory' : e.code}`);
  });
  try {
    await exportContainer(engine, input, handle.createWriteStream());
    const written = await fs.open(tmp, 'r');
    await written.sync().finally(() => written.close());
    await fs.rename(tmp, file);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
