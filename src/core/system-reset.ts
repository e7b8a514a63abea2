/**
 * `system reset`: every container stopped and removed, then everything in the store's root and
 * runroot (images, layers, blobs, container and runtime state, events) deleted, and the rootless
 * pause process stopped. The root and runroot directories themselves stay (either may be a mount
 * point); the next command finds an empty, usable store.
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Engine } from './engine.js';
import { removeContainers } from './containers/control.js';
import { syncContainers } from './containers/exit.js';
import { removeTree } from '../namespaces/extract.js';
import { stopUserNamespace } from '../namespaces/userns.js';
import { waitForConmons } from '../namespaces/conmon.js';

/** The store lock (held while the root is emptied) and the pause process's pid file and lock. */
const KEEP_UNTIL_LAST = /^(store\.lock|pause\.pid|pause\.lock)/;

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).map((name) => path.join(dir, name));
  } catch {
    return [];
  }
}

export async function resetSystem(engine: Engine): Promise<void> {
  const containers = await syncContainers(engine);
  await removeContainers(engine, containers.map((c) => c.id), { force: true, volumes: true });
  // Their conmons still run `container cleanup`, which would recreate the store just emptied.
  await waitForConmons(containers.map((c) => c.state.conmonPid));
  const ns = await engine.namespace();
  const { root, runroot } = engine.paths;
  const doomed = (dir: string) => entries(dir).filter((p) => !KEEP_UNTIL_LAST.test(path.basename(p)));
  // Layer files belong to subordinate ids: removed inside the namespace.
  await engine.store.locked(async () => {
    for (const p of doomed(root)) await removeTree(ns, p);
  });
  for (const p of doomed(runroot)) await removeTree(ns, p);
  await stopUserNamespace({ runroot });
  for (const p of [...entries(root), ...entries(runroot)]) rmSync(p, { recursive: true, force: true });
}
