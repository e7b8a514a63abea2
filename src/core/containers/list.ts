/** `ps`: the containers, synced with reality, filtered and in Docker's order (newest first). */
import type { Engine } from '../engine.js';
import { humanSize } from '../humanize.js';
import { findImage } from '../images.js';
import type { ContainerRecord } from '../../store/container-store.js';
import { treeFileBytes } from '../../namespaces/extract.js';
import { syncContainers } from './exit.js';
import { isActive } from './lookup.js';
import { containerFilter, containerRow, type ContainerRow } from './view.js';

export interface ListOptions {
  all: boolean;
  latest: boolean;
  last?: number;
  noTrunc: boolean;
  size: boolean;
  filters: string[];
}

/**
 * Bytes the container wrote: the sizes of the files in its upper dir, each hard-linked file once
 * and directories not at all (Docker's and Podman's SizeRw). Measured inside the namespace that
 * owns the files.
 */
export async function upperSize(engine: Engine, c: ContainerRecord): Promise<number> {
  return treeFileBytes(await engine.namespace(), engine.containers.containerPaths(c.id).upper);
}

/** ps --filter as a predicate (ancestor= names an image as the user would). */
export function containerMatcher(engine: Engine, filters: string[]): (c: ContainerRecord) => boolean {
  const images = engine.store.read();
  return containerFilter(filters, (c, value) => findImage(engine, images, value)?.image.id === c.imageId || c.imageName === value);
}

export async function listContainers(engine: Engine, opts: ListOptions): Promise<ContainerRow[]> {
  const images = engine.store.read();
  const matches = containerMatcher(engine, opts.filters);
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
