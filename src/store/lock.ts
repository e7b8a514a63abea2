/**
 * The store's single writer lock (proper-lockfile: a lock dir with a heartbeat, stale after 10 s).
 * Re-entrant within a process, so an operation on containers can also update images (rmi checks
 * containers, run records a container of an image) under one lock.
 */
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { TspodError } from '../core/errors.js';

const LOCK_FILE = 'store.lock';
const held = new Map<string, number>();

export async function withStoreLock<T>(root: string, fn: () => Promise<T> | T): Promise<T> {
  const file = path.join(root, LOCK_FILE);
  const depth = held.get(file) ?? 0;
  if (depth > 0) {
    held.set(file, depth + 1);
    try {
      return await fn();
    } finally {
      held.set(file, (held.get(file) ?? 1) - 1);
    }
  }
  closeSync(openSync(file, 'a'));
  // Loaded only here: it patches fs (graceful-fs) on load, which read-only commands need not pay.
  const { default: lockfile } = await import('proper-lockfile');
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(file, {
      stale: 10_000,
      update: 2_000,
      retries: { retries: 600, factor: 1, minTimeout: 50, maxTimeout: 100 },
      realpath: false,
    });
  } catch (e) {
    throw new TspodError(`cannot lock the store at ${root}: ${(e as Error).message}`, 'another tspod command may be stuck; retry');
  }
  held.set(file, 1);
  try {
    return await fn();
  } finally {
    held.delete(file);
    await release().catch(() => undefined);
  }
}
