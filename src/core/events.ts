/**
 * Lifecycle events, as `tspod events` shows them. Each command records what it did; the names of
 * actions are Docker's (create, start, die, stop, kill, pause, unpause, destroy, exec_start,
 * pull, push, tag, untag, delete, commit, import, save, load, ...).
 */
import { appendEventLines } from '../store/events-log.js';
import type { ContainerRecord } from '../store/container-store.js';
import type { Engine } from './engine.js';

export type EventType = 'container' | 'image' | 'volume' | 'network' | 'system';

export interface TspodEvent {
  /** RFC 3339 in UTC with nanoseconds (2026-12-01T22:00:00.123456789Z) */
  time: string;
  type: EventType;
  action: string;
  /** full container or image ID (image events of a name without ID use the name) */
  id: string;
  name?: string;
  image?: string;
  attributes?: Record<string, string>;
}

/**
 * Wall-clock nanoseconds: the clock's milliseconds and the monotonic clock's finer part, so the
 * events one process records keep their order even within a millisecond.
 */
const EPOCH_OFFSET_NS = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export function nowNano(): bigint {
  return EPOCH_OFFSET_NS + process.hrtime.bigint();
}

export function nanoToIso(ns: bigint): string {
  const seconds = new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  return `${seconds}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

/** The nanoseconds of a recorded time (older records have fewer fraction digits); undefined if malformed. */
export function isoToNano(time: string): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(time);
  const ms = m ? Date.parse(`${m[1]}Z`) : NaN;
  if (!m || Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * Appends an event. An event that cannot be written never fails the command that caused it: the
 * work is done by then, and the log is a record, not a transaction.
 */
export async function recordEvent(engine: Pick<Engine, 'paths'>, event: Omit<TspodEvent, 'time'>): Promise<void> {
  await recordEvents(engine, [timed(event)]);
}

/** An event stamped now, to be recorded later with others (recordEvents). */
export function timed(event: Omit<TspodEvent, 'time'>): TspodEvent {
  return { time: nanoToIso(nowNano()), ...event };
}

/** Appends the events of a batch (each stamped when it happened) in one write, as recordEvent does one. */
export async function recordEvents(engine: Pick<Engine, 'paths'>, events: TspodEvent[]): Promise<void> {
  try {
    await appendEventLines(
      engine.paths,
      events.map((e) => JSON.stringify(e)),
    );
  } catch {
    // see recordEvent
  }
}

/** A container's event as Docker has it: its labels are attributes too (so label= filters work). */
export function containerEvent(c: ContainerRecord, action: string, attributes: Record<string, string> = {}): Omit<TspodEvent, 'time'> {
  return { type: 'container', action, id: c.id, name: c.name, image: c.imageName, attributes: { ...c.config.labels, ...attributes } };
}
