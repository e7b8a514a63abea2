/** `ps`: the containers, synced with reality, filtered and in Docker's order (newest first). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Engine } from '../engine.js';
import { humanSize } from '../humanize.js';
import { findImage } from '../images.js';
import type { ContainerRecord } from '../../store/container-store.js';
import { HELPER_PATH } from '../../namespaces/helpers.js';
import { syncContainers } from './exit.js';
import { isActive } from './lookup.js';
import { containerFilter, containerRow, type ContainerRow } from './view.js';

const execFileAsync = promisify(execFile);

export interface ListOptions {
  all: boolean;
  latest: boolean;
  last?: number;
  noTrunc: boolean;
  size: boolean;
  filters: string[];
}

/** Bytes the container wrote (its upper dir), measured inside the namespace that owns the files. */
async function upperSize(engine: Engine, c: ContainerRecord): Promise<number> {
  const ns = await engine.namespace();
  const [cmd, ...args] = ns.wrap(['du', '-sb', engine.containers.containerPaths(c.id).upper]);
  try {
    const { stdout } = await execFileAsync(cmd, args, { env: { PATH: HELPER_PATH } });
    return Number(stdout.split(/\s/)[0]) || 0;
  } catch {
    return 0;
  }
}

export async function listContainers(engine: Engine, opts: ListOptions): Promise<ContainerRow[]> {
  const images = engine.store.read();
  const ancestor = (c: ContainerRecord, value: string) => findImage(engine, images, value)?.image.id === c.imageId || c.imageName === value;
  const matches = containerFilter(opts.filters, ancestor);
  let containers = (await syncContainers(engine)).filter(matches).sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
  // -n and -l imply -a, as in Docker.
  if (!opts.all && !opts.latest && opts.last === undefined) containers = containers.filter(isActive);
  if (opts.latest) containers = containers.slice(0, 1);
  else if (opts.last !== undefined && opts.last >= 0) containers = containers.slice(0, opts.last);
  const sizes = opts.size ? await Promise.all(containers.map((c) => upperSize(engine, c))) : [];
  return containers.map((c, i) => {
    const virtual = images.images.find((img) => img.id === c.imageId)?.size ?? 0;
    return containerRow(c, { noTrunc: opts.noTrunc, size: opts.size ? `${humanSize(sizes[i])} (virtual ${humanSize(virtual + sizes[i])})` : undefined });
  });
}
