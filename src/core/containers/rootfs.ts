/** A container's root filesystem for cp and export, whether the container runs or not. */
import type { Engine } from '../engine.js';
import { TspodError } from '../errors.js';
import type { ContainerRecord } from '../../store/container-store.js';
import { mountOverlay, unmount } from '../../namespaces/mounts.js';
import { findContainer, isActive, noSuchContainer } from './lookup.js';
import { lowerDirs } from './start.js';

/** The container named `input`; a missing one is an engine error (125), as for Podman's cp. */
export function requireContainerRecord(engine: Engine, input: string): ContainerRecord {
  const record = findContainer(engine.containers.read(), input);
  if (!record) throw new TspodError(noSuchContainer(input).message);
  return record;
}

/**
 * Runs `fn` with the host path of the container's mounted rootfs. A running container's is
 * mounted already; a stopped one's overlay is mounted for `fn` and unmounted after, under the
 * store lock so that it cannot be started meanwhile. Must run inside the namespace (as root of
 * it, or as real root): that is where the mount is seen.
 */
export async function withContainerRootfs<T>(engine: Engine, input: string, fn: (root: string, record: ContainerRecord) => Promise<T>): Promise<T> {
  const record = requireContainerRecord(engine, input);
  const { merged, upper, work } = engine.containers.containerPaths(record.id);
  if (isActive(record)) return fn(merged, record);
  return engine.containers.update(async (state) => {
    const current = state.containers.find((c) => c.id === record.id);
    if (!current) throw new TspodError(noSuchContainer(input).message);
    if (isActive(current)) return fn(merged, current);
    const ns = await engine.namespace();
    await mountOverlay(ns, { lowers: lowerDirs(engine, current), upper, work, merged });
    try {
      return await fn(merged, current);
    } finally {
      await unmount(ns, merged);
    }
  });
}
