/** Crash-safe file writes: temp file in the same directory, fsync, rename, fsync the directory. */
import { closeSync, fsyncSync, openSync, renameSync, writeFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';

let counter = 0;

export function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${counter++}.tmp`);
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(target: string, data: string | Buffer, mode = 0o644): void {
  const tmp = tempName(target);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, target);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  fsyncDir(path.dirname(target));
}

export function writeJsonAtomic(target: string, value: unknown, mode = 0o644): void {
  writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n', mode);
}
