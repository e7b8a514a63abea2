/**
 * `system prune`: stopped containers, then dangling images (with `all`, every image no container
 * uses), both narrowed by the prune filters; the space given back counts the files the removed
 * containers wrote and the layers no image uses any more. tspod has no networks, build cache or
 * volumes, so there is nothing else to remove.
 */
import type { Engine } from './engine.js';
import { pruneContainers } from './containers/control.js';
import { syncContainers } from './containers/exit.js';
import { upperSize } from './containers/list.js';
import { isActive } from './containers/lookup.js';
import { pruneImages, type RemoveResult } from './images.js';
import { parsePruneFilters } from './prune-filters.js';

export interface SystemPruneResult {
  containers: string[];
  images: RemoveResult;
  reclaimed: number;
}

export async function pruneSystem(engine: Engine, opts: { all: boolean; filters: string[] }): Promise<SystemPruneResult> {
  parsePruneFilters(opts.filters);
  const stopped = (await syncContainers(engine)).filter((c) => !isActive(c));
  const written = new Map(await Promise.all(stopped.map(async (c) => [c.id, await upperSize(engine, c)] as const)));
  const containers = await pruneContainers(engine, opts.filters);
  const images = await pruneImages(engine, { all: opts.all, filters: opts.filters });
  const reclaimed = images.reclaimed + containers.reduce((n, id) => n + (written.get(id) ?? 0), 0);
  return { containers, images, reclaimed };
}
