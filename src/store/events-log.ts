/**
 * The events log: RUNROOT/events/events.log, one JSON object a line, appended by the command that
 * caused the event (there is no daemon to ask). Once it passes its size limit it becomes
 * events.log.1, replacing the previous one, so the two files never hold much more than twice the
 * limit. Appends use O_APPEND: a line (or a batch of lines) is one write(2), so concurrent writers do
 * not interleave.
 */
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, statSync, watch, type FSWatcher } from 'node:fs';
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

/** Appends lines in one write(2): a batch's events stay together, whoever else appends. */
export async function appendEventLines(paths: StorePaths, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const { current, rotated } = eventsLogFiles(paths);
  mkdirSync(path.dirname(current), { recursive: true, mode: 0o700 });
  appendFileSync(current, lines.map((line) => `${line}\n`).join(''), { mode: 0o600 });
  const limit = eventsMaxBytes();
  if (sizeOf(current) <= limit) return;
  // Rare: the lock keeps two writers from rotating twice (the second would drop the first's file).
  await withStoreLock(paths.root, () => {
    if (sizeOf(current) > limit) renameSync(current, rotated);
  });
}

function inodeOf(file: string): number | undefined {
  try {
    return statSync(file).ino;
  } catch {
    return undefined;
  }
}

/** One of the log's files, open for reading from `pos`; the fd follows the file through a rename. */
class LogFile {
  private pos = 0;
  private partial = '';
  private readonly buffer = Buffer.alloc(64 * 1024);

  private constructor(
    private readonly fd: number,
    readonly ino: number,
  ) {}

  static open(file: string): LogFile | undefined {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    return new LogFile(fd, fstatSync(fd).ino);
  }

  /** Hands over every complete line written so far; a line being written waits for the next call. */
  drain(onLine: (line: string) => void): void {
    for (;;) {
      const n = readSync(this.fd, this.buffer, 0, this.buffer.length, this.pos);
      if (n === 0) return;
      this.pos += n;
      const lines = (this.partial + this.buffer.toString('utf8', 0, n)).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) if (line) onLine(line);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** The rotated file and the current one, opened so that no rotation came between the two opens. */
function openBoth(files: { current: string; rotated: string }): { rotated?: LogFile; current?: LogFile } {
  for (;;) {
    const rotated = LogFile.open(files.rotated);
    const current = LogFile.open(files.current);
    if (inodeOf(files.rotated) === rotated?.ino) return { rotated, current };
    rotated?.close();
    current?.close();
  }
}

/** How often a follower looks at the log without being woken by fs.watch (which may miss or be unavailable). */
const POLL_MS = 1000;

/**
 * Hands over the log's lines, oldest first (the rotated file's, then the current one's), and
 * with `follow` then each line appended later, across rotations, until `follow` aborts.
 */
export async function readEventLines(paths: StorePaths, onLine: (line: string) => void, follow?: AbortSignal): Promise<void> {
  const files = eventsLogFiles(paths);
  const { rotated, current: first } = openBoth(files);
  if (rotated) {
    rotated.drain(onLine);
    rotated.close();
  }
  let current = first;
  current?.drain(onLine);
  if (!follow) {
    current?.close();
    return;
  }
  mkdirSync(path.dirname(files.current), { recursive: true, mode: 0o700 });
  let wake = () => undefined as void;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path.dirname(files.current), () => wake());
    watcher.on('error', () => watcher?.close());
  } catch {
    // no inotify (or none left): polling alone
  }
  // A writer that opened the file just before it was rotated may still append to it.
  let previous: LogFile | undefined;
  try {
    while (!follow.aborted) {
      previous?.drain(onLine);
      current?.drain(onLine);
      const ino = inodeOf(files.current);
      if (ino !== undefined && ino !== current?.ino) {
        if (current) {
          // Rotated twice since we looked: the file in between is whole in events.log.1.
          const between = inodeOf(files.rotated) !== current.ino && inodeOf(files.rotated) !== ino ? LogFile.open(files.rotated) : undefined;
          between?.drain(onLine);
          between?.close();
          previous?.close();
          previous = current;
        }
        current = LogFile.open(files.current);
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, POLL_MS);
        follow.addEventListener('abort', done);
        wake = done;
        function done() {
          clearTimeout(timer);
          follow!.removeEventListener('abort', done);
          resolve();
        }
      });
    }
  } finally {
    watcher?.close();
    previous?.close();
    current?.close();
  }
}
