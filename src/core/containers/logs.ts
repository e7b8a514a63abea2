/** `logs`: a container's conmon log, also after it exited and for -t containers. */
import type { Engine } from '../engine.js';
import { TspodError } from '../errors.js';
import { readLog, type LogOutput } from '../k8s-log.js';
import { hasExited } from './exit.js';
import { isActive, requireContainer } from './lookup.js';

export interface LogsOptions {
  follow: boolean;
  tail?: number;
  since?: string;
  until?: string;
  timestamps: boolean;
}

const DURATION = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?$/;

/** Docker's --since/--until: RFC 3339, a Unix timestamp, or a duration before now (10m, 1h30m). */
export function parseTimeArg(flag: string, value: string, now = Date.now()): Date {
  if (/^\d+(\.\d+)?$/.test(value)) return new Date(Number(value) * 1000);
  const d = DURATION.exec(value);
  if (d && value !== '') {
    const [, h = '0', m = '0', s = '0'] = d;
    return new Date(now - (Number(h) * 3600 + Number(m) * 60 + Number(s)) * 1000);
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new TspodError(`invalid ${flag} "${value}"`, 'use a timestamp (2024-01-02T15:04:05Z), Unix seconds, or a duration such as 10m');
  return new Date(t);
}

export async function containerLogs(engine: Engine, input: string, opts: LogsOptions, out: LogOutput): Promise<void> {
  const c = requireContainer(engine.containers.read(), input);
  const { logPath } = engine.containers.containerPaths(c.id);
  const stopWhen = async () => {
    const fresh = engine.containers.read().containers.find((x) => x.id === c.id);
    return !fresh || !isActive(fresh) || (await hasExited(engine, fresh));
  };
  await readLog(
    logPath,
    {
      follow: opts.follow,
      tail: opts.tail !== undefined && opts.tail >= 0 ? opts.tail : undefined,
      since: opts.since ? parseTimeArg('--since', opts.since) : undefined,
      until: opts.until ? parseTimeArg('--until', opts.until) : undefined,
      timestamps: opts.timestamps,
    },
    out,
    { stopWhen },
  );
}
