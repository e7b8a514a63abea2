/**
 * The events log: RUNROOT/events/events.log, one JSON object a line, appended by the command that
 * caused the event (there is no daemon to ask). Once it passes its size limit it becomes
 * events.log.1, replacing the previous one, so the two files never hold much more than twice the
 * limit. Appends use O_APPEND: a line is one write(2), so concurrent writers do not interleave.
 */
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { withStoreLock } from './lock.js';
import type { StorePaths } from './paths.js';

/** Podman's events_logfile_max_size default is 1 MB too; TSPOD_EVENTS_MAX_BYTES overrides it. */
const DEFAULT_MAX_BYTES = 1024 * 1024;

export function eventsMaxBytes(): number {
  const fromEnv = Number(process.env.TSPOD_EVENTS_MAX_BYTES);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_MAX_BYTES;
}

export function eventsDir(paths: StorePaths): string {
  return path.join(paths.runroot, 'events');
}

/** The live log and the rotated one, oldest first. */
export function eventsLogFiles(paths: StorePaths): { current: string; rotated: string } {
  const current = path.join(eventsDir(paths), 'events.log');
  return { current, rotated: `${current}.1` };
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

export async function appendEventLine(paths: StorePaths, line: string): Promise<void> {
  const { current, rotated } = eventsLogFiles(paths);
  mkdirSync(path.dirname(current), { recursive: true, mode: 0o700 });
  appendFileSync(current, `${line}\n`, { mode: 0o600 });
  const limit = eventsMaxBytes();
  if (sizeOf(current) <= limit) return;
  // Rare: the lock keeps two writers from rotating twice (the second would drop the first's file).
  await withStoreLock(paths.root, () => {
    if (sizeOf(current) > limit) renameSync(current, rotated);
  });
}
