/**
 * Lifecycle events, as `tspod events` shows them. Each command records what it did; the names of
 * actions are Docker's (create, start, die, stop, kill, pause, unpause, destroy, exec_start,
 * pull, push, tag, untag, delete, commit, import, save, load, ...).
 */
import { appendEventLine } from '../store/events-log.js';
import type { Engine } from './engine.js';

export type EventType = 'container' | 'image' | 'volume' | 'network' | 'system';

export interface TspodEvent {
  /** ISO 8601, milliseconds */
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
 * Appends an event. An event that cannot be written never fails the command that caused it: the
 * work is done by then, and the log is a record, not a transaction.
 */
export async function recordEvent(engine: Pick<Engine, 'paths'>, event: Omit<TspodEvent, 'time'>): Promise<void> {
  try {
    await appendEventLine(engine.paths, JSON.stringify({ time: new Date().toISOString(), ...event }));
  } catch {
    // see above
  }
}
