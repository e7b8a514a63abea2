/** For commands whose work must happen inside the rootless user namespace (see namespaces/rerun). */
import type { Engine } from '../core/engine.js';
import { mustEnter, rerunInNamespace } from '../namespaces/rerun.js';

/**
 * Rootless: runs `tspod ARGS` (with this store's --root/--runroot) inside the namespace, sets
 * this process's exit code to its, and returns true. Root, or already inside: returns false.
 */
export async function ranInNamespace(engine: Engine, args: string[]): Promise<boolean> {
  const ns = await engine.namespace();
  if (!mustEnter(ns)) return false;
  process.exitCode = await rerunInNamespace(ns, ['--root', engine.paths.root, '--runroot', engine.paths.runroot, ...args]);
  return true;
}

/** A local path made absolute without losing a trailing `/` or `/.` (entering the namespace resets the cwd). */
export function absoluteLocalPath(p: string): string {
  return p.startsWith('/') || p === '-' ? p : `${process.cwd()}/${p}`;
}
