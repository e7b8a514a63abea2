/**
 * The --filter of `image prune`, `container prune` and `system prune`, as Docker reads it:
 * until=TIMESTAMP|DURATION (created before), label=KEY[=VALUE] and label!=KEY[=VALUE].
 */
import { TspodError } from './errors.js';

export interface PruneFilter {
  /** ms since the epoch: only what was created before */
  until?: number;
  labels: [string, string | undefined][];
  notLabels: [string, string | undefined][];
}

const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration (10m, 1h30m, 1.5h) before now, a Unix time (seconds[.fraction]) or a date/time. */
export function parseUntil(value: string, now = Date.now()): number {
  if (GO_DURATION.test(value)) {
    let ms = 0;
    for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * UNIT_MS[unit!]!;
    return now - ms;
  }
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    throw new TspodError(`invalid filter 'until=${value}'`, 'give a duration (10m, 24h), a Unix time or a date like 2006-01-02T15:04:05');
  }
  return t;
}

export function parsePruneFilters(filters: string[]): PruneFilter {
  const parsed: PruneFilter = { labels: [], notLabels: [] };
  for (const f of filters) {
    const m = /^(until|label|label!)=(.*)$/s.exec(f);
    if (!m) throw new TspodError(`invalid filter '${f}'`, 'supported filters: until=TIMESTAMP|DURATION, label=KEY[=VALUE], label!=KEY[=VALUE]');
    const [, key, value] = m;
    if (key === 'until') {
      parsed.until = parseUntil(value!);
      continue;
    }
    const [k, v] = value!.split(/=(.*)/s, 2);
    if (!k) throw new TspodError(`invalid filter '${f}'`, 'give a label key');
    (key === 'label' ? parsed.labels : parsed.notLabels).push([k, v]);
  }
  return parsed;
}

/** Whether something created at `created` (ISO) with `labels` is matched by the filter. */
export function matchesPruneFilter(filter: PruneFilter, created: string, labels: Record<string, string>): boolean {
  if (filter.until !== undefined && !(Date.parse(created) < filter.until)) return false;
  const has = ([k, v]: [string, string | undefined]) => k in labels && (v === undefined || labels[k] === v);
  return filter.labels.every(has) && !filter.notLabels.some(has);
}

/** Whether the filter needs labels (which may cost a read per object). */
export function needsLabels(filter: PruneFilter): boolean {
  return filter.labels.length > 0 || filter.notLabels.length > 0;
}
