/** Waiting for a file or directory to change without a busy loop. */
import { watch, type FSWatcher } from 'node:fs';

/**
 * Wakes its waiter when something happens to `target` (a file or directory) (inotify through fs.watch), when `signal`
 * aborts, or after `pollMs` at the latest (inotify may be unavailable or miss an event). An event
 * that arrives while nobody waits is kept, so none is lost between a check and the next wait.
 */
export function changeNotifier(target: string, pollMs: number, signal?: AbortSignal): { next(): Promise<void>; close(): void } {
  let pending = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    pending = true;
    wake?.();
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(target, notify);
    watcher.on('error', () => undefined);
  } catch {
    // no inotify here (or out of watches): polling alone still works
  }
  signal?.addEventListener('abort', notify);
  return {
    next() {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, pollMs);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          pending = false;
          resolve();
        }
        wake = done;
      });
    },
    close() {
      watcher?.close();
      signal?.removeEventListener('abort', notify);
      wake?.();
    },
  };
}
