/**
 * `events`: reading the events log back, with Docker's filters, time bounds and formats, and
 * following it as new events are recorded.
 */
import { readEventLines } from '../store/events-log.js';
import { parseTimeArg } from './containers/logs.js';
import type { Engine } from './engine.js';
import { TspodError } from './errors.js';
import { isoToNano, type EventType, type TspodEvent } from './events.js';
import { formatReference, parseReference } from './reference.js';
import { compileTemplate, goJson } from './template/index.js';

const EVENT_TYPES: EventType[] = ['container', 'image', 'volume', 'network', 'system'];
const FILTER_KEYS = ['type', 'event', 'container', 'image', 'label', 'volume', 'network'];
/** Podman's names of Docker's actions. */
const ACTION_ALIASES: Record<string, string[]> = { died: ['die'], remove: ['destroy', 'delete'], exec: ['exec_start'], exec_died: ['exec_die'] };

/** The attributes Docker shows: the recorded ones, name and image; sorted, as Go prints a map. */
function attributesOf(e: TspodEvent): Record<string, string> {
  const all: Record<string, string> = { ...e.attributes, ...(e.image !== undefined && { image: e.image }), ...(e.name !== undefined && { name: e.name }) };
  return Object.fromEntries(Object.keys(all).sort().map((k) => [k, all[k]]));
}

/** An image name as stored (docker.io/library/busybox:latest), to compare what users write; undefined if it is no name. */
function fullImageName(name: string): string | undefined {
  try {
    return formatReference(parseReference(name));
  } catch {
    return undefined;
  }
}

function imageMatches(e: TspodEvent, value: string): boolean {
  if (e.type === 'image') {
    const hex = value.replace(/^sha256:/, '');
    if (/^[0-9a-f]+$/.test(hex) && e.id.replace(/^sha256:/, '').startsWith(hex)) return true;
  }
  const wanted = fullImageName(value) ?? value;
  const names = e.type === 'container' ? [e.image] : e.type === 'image' ? [e.name, e.id] : [];
  return names.some((n) => n !== undefined && (n === value || fullImageName(n) === wanted));
}

const FILTER_TESTS: Record<string, (e: TspodEvent, value: string) => boolean> = {
  type: (e, v) => e.type === v,
  // Docker's exec events are "exec_start: CMD": the filter names the action before the colon.
  event: (e, v) => (ACTION_ALIASES[v] ?? [v]).includes(e.action.split(':')[0]),
  container: (e, v) => e.type === 'container' && (e.name === v || (v.length > 0 && e.id.startsWith(v))),
  image: imageMatches,
  label: (e, v) => {
    const [key, value] = v.split(/=(.*)/s, 2);
    const attributes = e.attributes ?? {};
    return key in attributes && (value === undefined || attributes[key] === value);
  },
  volume: (e, v) => e.type === 'volume' && (e.id === v || e.name === v),
  network: (e, v) => e.type === 'network' && (e.id === v || e.name === v || e.id.startsWith(v)),
};

/** --filter KEY=VALUE: the same key twice means either, different keys both (Docker). */
export function eventFilter(filters: string[]): (e: TspodEvent) => boolean {
  const byKey = new Map<string, string[]>();
  for (const f of filters) {
    const eq = f.indexOf('=');
    const key = f.slice(0, eq);
    const value = f.slice(eq + 1);
    if (eq <= 0 || !FILTER_KEYS.includes(key) || value === '') {
      throw new TspodError(`invalid filter "${f}"`, `use KEY=VALUE with KEY one of ${FILTER_KEYS.join(', ')}`);
    }
    if (key === 'type' && !EVENT_TYPES.includes(value as EventType)) {
      throw new TspodError(`invalid filter "${f}"`, `type is one of ${EVENT_TYPES.join(', ')}`);
    }
    byKey.set(key, [...(byKey.get(key) ?? []), value]);
  }
  return (e) => [...byKey].every(([key, values]) => values.some((v) => FILTER_TESTS[key](e, v)));
}

/** Docker's RFC3339Nano with fixed digits, in local time as Docker prints it. */
function localTime(ns: bigint): string {
  const d = new Date(Number(ns / 1_000_000n));
  const pad = (n: number) => String(n).padStart(2, '0');
  const offset = -d.getTimezoneOffset();
  const zone = offset === 0 ? 'Z' : `${offset > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${fraction}${zone}`;
}

/** What a --format template sees: Docker's fields, and Podman's Name and Image. */
export function eventView(e: TspodEvent, ns: bigint) {
  return {
    Type: e.type,
    Action: e.action,
    Status: e.action,
    ID: e.id,
    From: e.image ?? '',
    Time: Number(ns / 1_000_000_000n),
    /** a string: a float64 would lose the last digits */
    TimeNano: ns.toString(),
    Actor: { ID: e.id, Attributes: attributesOf(e) },
    Scope: 'local',
    Name: e.name ?? '',
    Image: e.image ?? '',
  };
}

type Renderer = (e: TspodEvent, ns: bigint) => string;

/** The default line, `json` (Docker's message, one a line) or a Go template; checked before anything is read. */
function eventRenderer(format: string | undefined): Renderer {
  if (format === undefined || format.trim() === '') {
    return (e, ns) => {
      const list = Object.entries(attributesOf(e))
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      return `${localTime(ns)} ${e.type} ${e.action} ${e.id}${list ? ` (${list})` : ''}\n`;
    };
  }
  if (format.trim() === 'json') {
    return (e, ns) => {
      const v = eventView(e, ns);
      const message = { status: v.Status, id: v.ID, from: v.From, Type: v.Type, Action: v.Action, Actor: v.Actor, scope: v.Scope, time: v.Time };
      return `${goJson(message).slice(0, -1)},"timeNano":${ns}}\n`;
    };
  }
  const template = compileTemplate(format);
  const terminator = /(\n|\\n)$/.test(format) ? '' : '\n';
  return (e, ns) => template.execute(eventView(e, ns)) + terminator;
}

export interface EventsOptions {
  since?: string;
  until?: string;
  filters: string[];
  format?: string;
}

/** --since/--until in nanoseconds: what logs accepts, with every digit of a fraction (Docker's precision). */
function timeArgNano(flag: string, value: string, now: number): bigint {
  const unix = /^(\d+)\.(\d{1,9})$/.exec(value);
  if (unix) return BigInt(unix[1]) * 1_000_000_000n + BigInt(unix[2].padEnd(9, '0'));
  const ms = BigInt(parseTimeArg(flag, value, now).getTime()) * 1_000_000n;
  // Date.parse keeps milliseconds of an RFC 3339 fraction.
  const finer = /T[\d:]+\.\d{3}(\d{1,6})(?:Z|[+-]\d\d:\d\d)$/i.exec(value);
  return finer ? ms + BigInt(finer[1].padEnd(6, '0')) : ms;
}

function parseEvent(line: string): { event: TspodEvent; ns: bigint } | undefined {
  try {
    const event = JSON.parse(line) as TspodEvent;
    const ns = typeof event.time === 'string' ? isoToNano(event.time) : undefined;
    return ns === undefined || typeof event.action !== 'string' ? undefined : { event, ns };
  } catch {
    return undefined;
  }
}

/**
 * `events`: the recorded events that match, oldest first; then, unless --until is past, the new
 * ones as they are recorded, until --until comes or `stop` aborts. Bad input fails before any output.
 */
export async function streamEvents(engine: Pick<Engine, 'paths'>, opts: EventsOptions, write: (text: string) => void, stop: AbortSignal): Promise<void> {
  const now = Date.now();
  const since = opts.since === undefined ? undefined : timeArgNano('--since', opts.since, now);
  const until = opts.until === undefined ? undefined : timeArgNano('--until', opts.until, now);
  const matches = eventFilter(opts.filters);
  const render = eventRenderer(opts.format);
  const onLine = (line: string) => {
    const parsed = parseEvent(line);
    if (!parsed || (since !== undefined && parsed.ns < since) || (until !== undefined && parsed.ns > until) || !matches(parsed.event)) return;
    write(render(parsed.event, parsed.ns));
  };
  if (until !== undefined && until <= BigInt(now) * 1_000_000n) return readEventLines(engine.paths, onLine);
  const follow = new AbortController();
  const end = () => follow.abort();
  stop.addEventListener('abort', end);
  if (stop.aborted) end();
  // setTimeout cannot wait longer (it would fire at once); an --until that far ahead is never reached.
  const delay = until === undefined ? Infinity : Number(until / 1_000_000n) - now;
  const timer = delay < 2 ** 31 ? setTimeout(end, delay) : undefined;
  try {
    await readEventLines(engine.paths, onLine, follow.signal);
  } finally {
    clearTimeout(timer);
    stop.removeEventListener('abort', end);
  }
}
