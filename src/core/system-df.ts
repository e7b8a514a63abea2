/**
 * `system df`: the space images and containers take, and how much of it a prune would give back.
 * Images: every stored layer counted once; an image is active when a container uses it, and the
 * reclaimable part is what no active image uses. Containers: the files they wrote (their upper
 * dirs); reclaimable is what the ones not running wrote. tspod has no volumes yet: 0.
 */
import type { Engine } from './engine.js';
import { upperSize } from './containers/list.js';
import { syncContainers } from './containers/exit.js';
import { isActive } from './containers/lookup.js';
import type { ContainerRecord } from '../store/container-store.js';
import type { ImageRecord } from '../store/image-store.js';

export interface UsageSummary {
  type: 'Images' | 'Containers' | 'Local Volumes';
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

export interface ImageUsage {
  image: ImageRecord;
  size: number;
  /** bytes of its layers that other images use too */
  shared: number;
  containers: number;
}

export interface ContainerUsage {
  container: ContainerRecord;
  size: number;
}

export interface DiskUsage {
  summary: UsageSummary[];
  images: ImageUsage[];
  containers: ContainerUsage[];
}

export async function diskUsage(engine: Engine): Promise<DiskUsage> {
  const containers = await syncContainers(engine);
  const state = engine.store.read();
  const layerSize = new Map(state.layers.map((l) => [l.diffID, l.size]));
  const sizeOf = (diffIDs: Iterable<string>) => [...diffIDs].reduce((n, d) => n + (layerSize.get(d) ?? 0), 0);
  const users = new Map<string, number>();
  for (const c of containers) users.set(c.imageId, (users.get(c.imageId) ?? 0) + 1);
  const imagesPerLayer = new Map<string, number>();
  for (const image of state.images) for (const d of new Set(image.layers)) imagesPerLayer.set(d, (imagesPerLayer.get(d) ?? 0) + 1);

  const images = state.images.map((image) => ({
    image,
    size: sizeOf(new Set(image.layers)),
    shared: sizeOf([...new Set(image.layers)].filter((d) => (imagesPerLayer.get(d) ?? 0) > 1)),
    containers: users.get(image.id) ?? 0,
  }));
  const activeImages = images.filter((i) => i.containers > 0);
  const allLayers = sizeOf(new Set(state.images.flatMap((i) => i.layers)));
  const activeLayers = sizeOf(new Set(activeImages.flatMap((i) => i.image.layers)));

  const sizes = await Promise.all(containers.map((c) => upperSize(engine, c)));
  const containerUsage = containers.map((container, i) => ({ container, size: sizes[i]! }));
  const running = containerUsage.filter((u) => isActive(u.container));
  const containerBytes = containerUsage.reduce((n, u) => n + u.size, 0);

  return {
    summary: [
      { type: 'Images', total: images.length, active: activeImages.length, size: allLayers, reclaimable: allLayers - activeLayers },
      {
        type: 'Containers',
        total: containers.length,
        active: running.length,
        size: containerBytes,
        reclaimable: containerBytes - running.reduce((n, u) => n + u.size, 0),
      },
      { type: 'Local Volumes', total: 0, active: 0, size: 0, reclaimable: 0 },
    ],
    images,
    containers: containerUsage,
  };
}
