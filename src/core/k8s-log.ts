/**
 * Container logs in conmon's k8s-file format, one record per line:
 *   2024-01-02T03:04:05.123456789+00:00 stdout F text
 * The tag is F for a record that ends a line and P for a piece of a longer one (conmon writes a P
 * record for every read of the container's output that does not end with a newline). Pieces are
 * written out as they come, so a prompt without a newline shows up at once in `logs -f`; a line's
 * timestamp is the one of its first piece, and --since/--until decide per line.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { changeNotifier } from './change-notifier.js';

export type LogStream = 'stdout' | 'stderr';

export interface LogRecord {
  /** the timestamp as conmon wrote it (nanoseconds, numeric zone offset) */
  time: string;
  /** nanoseconds since the epoch */
  ns: bigint;
  stream: LogStream;
  /** false for a P record: the line goes on in the next record of the stream */
  complete: boolean;
  text: string;
}

export interface ReadLogOptions {
  follow: boolean;
  /** the last N lines only; 0 prints none (with follow: only new ones) */
  tail?: number;
  since?: Date;
  until?: Date;
  timestamps: boolean;
}

export interface LogOutput {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const RECORD = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) (stdout|stderr) ([FP])(?: (.*))?$/s;

/** One record (a line of the file without its newline), or undefined when it is not one. */
export function parseLogRecord(line: string): LogRecord | undefined {
  const m = RECORD.exec(line);
  if (!m) return undefined;
  const [, seconds, fraction = '', zone, stream, tag, text = ''] = m;
  const ms = Date.parse(`${seconds}${zone}`);
  if (Number.isNaN(ms)) return undefined;
  const ns = BigInt(ms) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
  return { time: `${seconds}.${fraction.padEnd(9, '0')}${zone}`, ns, stream: stream as LogStream, complete: tag === 'F', text };
}

/** Timestamps as Podman prints them: nine digits of fraction, Z for UTC, else the offset. */
export function displayTime(record: LogRecord): string {
  return record.time.replace(/[+-]00:00$/, 'Z');
}

const dateNs = (d: Date) => BigInt(d.getTime()) * 1_000_000n;

/** How much is read at a time, forwards and backwards. */
const CHUNK = 64 * 1024;
/** How often a followed log is looked at when no inotify event arrives. */
const FOLLOW_POLL_MS = 250;
/** setTimeout's limit (a longer delay fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Writes the container's log to `out`, split into its streams. With follow, keeps writing what
 * the container adds until stopWhen() says it has exited (everything written before that is
 * still printed) or a record later than --until arrives.
 */
export async function readLog(
  file: string,
  options: ReadLogOptions,
  out: LogOutput,
  opts: { stopWhen?: () => Promise<boolean> } = {},
): Promise<void> {
  const since = options.since ? dateNs(options.since) : undefined;
  const until = options.until ? dateNs(options.until) : undefined;
  const lineState = { stdout: { inLine: false, shown: false }, stderr: { inLine: false, shown: false } };
  let pastUntil = false;

  // Consecutive records of one stream are written together; a change of stream flushes them, so
  // stdout and stderr lines keep their order on a shared terminal.
  let pending: { stream: LogStream; text: string } | undefined;
  const flush = async () => {
    if (pending) await write(out[pending.stream], pending.text);
    pending = undefined;
  };

  /** Queues one record; false once records are past --until. */
  const emit = async (record: LogRecord): Promise<boolean> => {
    const state = lineState[record.stream];
    let prefix = '';
    if (!state.inLine) {
      if (until !== undefined && record.ns > until) {
        pastUntil = true;
        return false;
      }
      state.shown = since === undefined || record.ns >= since;
      if (options.timestamps) prefix = `${displayTime(record)} `;
    }
    state.inLine = !record.complete;
    if (!state.shown) return true;
    if (pending?.stream !== record.stream) await flush();
    pending ??= { stream: record.stream, text: '' };
    pending.text += `${prefix}${record.text}${record.complete ? '\n' : ''}`;
    return true;
  };

  let handle: FileHandle | undefined;
  try {
    handle = await openLog(file, options.follow, opts.stopWhen);
    if (!handle) return;
    let offset = options.tail === undefined || options.tail < 0 ? 0 : await tailOffset(handle, options.tail);
    const reader = new RecordReader();
    const buffer = Buffer.alloc(CHUNK);
    const drain = async (final: boolean): Promise<boolean> => {
      try {
        const size = (await handle!.stat()).size;
        if (size < offset) offset = 0; // truncated: start over
        while (offset < size) {
          const length = Math.min(CHUNK, size - offset);
          const { bytesRead } = await handle!.read(buffer, 0, length, offset);
          if (bytesRead === 0) break;
          offset += bytesRead;
          for (const record of reader.push(buffer.subarray(0, bytesRead))) if (!(await emit(record))) return false;
          await flush();
        }
        // An unterminated last line is a record still being written: only a final read takes it.
        if (final) for (const record of reader.end()) if (!(await emit(record))) return false;
        return true;
      } finally {
        await flush();
      }
    };
    if (!options.follow) {
      await drain(true);
      return;
    }
    // Following ends at --until even when the container writes nothing more.
    const untilDelay = until === undefined ? undefined : Number((until - dateNs(new Date())) / 1_000_000n);
    const untilTimer = untilDelay === undefined || untilDelay > MAX_TIMER_MS ? undefined : setTimeout(() => (pastUntil = true), Math.max(0, untilDelay));
    const changes = changeNotifier(file, FOLLOW_POLL_MS);
    try {
      for (;;) {
        if (!(await drain(false)) || pastUntil) return;
        if (opts.stopWhen && (await opts.stopWhen())) {
          // conmon writes the log before the exit file: what is there now is all there is.
          await drain(true);
          return;
        }
        await changes.next();
      }
    } finally {
      changes.close();
      clearTimeout(untilTimer);
    }
  } finally {
    await handle?.close();
  }
}

/**
 * The log file; a missing one is an empty log (no output yet), or with follow, one to wait for
 * while the container runs.
 */
async function openLog(file: string, follow: boolean, stopWhen?: () => Promise<boolean>): Promise<FileHandle | undefined> {
  for (;;) {
    try {
      return await open(file, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (!follow || (stopWhen && (await stopWhen()))) return undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
  }
}

/** Splits bytes into records; bytes after the last newline wait for the rest of their line. */
class RecordReader {
  private rest = Buffer.alloc(0);

  push(data: Buffer): LogRecord[] {
    const buffer = this.rest.length > 0 ? Buffer.concat([this.rest, data]) : data;
    const records: LogRecord[] = [];
    let start = 0;
    for (let nl = buffer.indexOf(10, start); nl !== -1; nl = buffer.indexOf(10, start)) {
      const record = parseLogRecord(buffer.toString('utf8', start, nl));
      if (record) records.push(record);
      start = nl + 1;
    }
    this.rest = Buffer.from(buffer.subarray(start));
    return records;
  }

  end(): LogRecord[] {
    const record = this.rest.length > 0 ? parseLogRecord(this.rest.toString('utf8')) : undefined;
    this.rest = Buffer.alloc(0);
    return record ? [record] : [];
  }
}

/**
 * Where the last `lines` lines of the log begin, found by reading backwards from the end. A line
 * is its P records and the F record that ends it; an unfinished last line counts as one (as in
 * Podman).
 */
async function tailOffset(handle: FileHandle, lines: number): Promise<number> {
  let end = (await handle.stat()).size;
  if (lines === 0) return end;
  let counted = 0;
  let first = true;
  // Bytes from `pos` up to (not including) the newline that ends the line starting before `pos`.
  let carry = Buffer.alloc(0);
  let afterLastNewline = true;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const chunk = Buffer.alloc(end - start);
    await handle.read(chunk, 0, chunk.length, start);
    const data = Buffer.concat([chunk, carry]);
    let lineEnd = data.length;
    if (afterLastNewline) {
      // Whatever follows the file's last newline is a record being written: not counted.
      const nl = data.lastIndexOf(10);
      if (nl === -1) {
        carry = data;
        end = start;
        continue;
      }
      lineEnd = nl;
      afterLastNewline = false;
    }
    for (;;) {
      const nl = lineEnd > 0 ? data.lastIndexOf(10, lineEnd - 1) : -1;
      if (nl === -1 && start > 0) break; // the line starts in an earlier chunk
      const lineStart = nl + 1;
      const record = parseLogRecord(data.toString('utf8', lineStart, lineEnd));
      if (record && (record.complete || first)) {
        counted++;
        first = false;
        if (counted > lines) return start + lineEnd + 1;
      }
      if (nl === -1) return 0;
      lineEnd = nl;
    }
    carry = data.subarray(0, lineEnd);
    end = start;
  }
  return 0;
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (e) => (e ? reject(e) : resolve()));
  });
}
