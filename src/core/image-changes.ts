/**
 * `--change` of commit and import: Dockerfile instructions applied to an image's config, in
 * Dockerfile syntax ("CMD ["sh"]", "ENV A=1 B=2", "EXPOSE 80/udp"; Podman's "CMD=..." too).
 * Every change is parsed before anything is stored, so a bad one changes nothing.
 */
import path from 'node:path';
import { TspodError } from './errors.js';

/** The `config` object of an image config (Docker's field names), changed in place. */
export type RunConfig = Record<string, unknown>;

type Apply = (config: RunConfig, state: { cmdSet: boolean }) => void;

const SUPPORTED = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'];

function invalid(change: string, why: string): TspodError {
  return new TspodError(`invalid --change "${change}": ${why}`, `supported instructions: ${SUPPORTED.join(', ')}`);
}

/** A JSON array of strings (Dockerfile's exec form), or undefined when `value` is not one. */
function jsonArray(value: string): string[] | undefined {
  if (!value.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) && parsed.every((s) => typeof s === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Words as Dockerfile's ENV and LABEL split them: whitespace apart, quotes and backslashes removed. */
export function splitWords(value: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < value.length) word += value[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < value.length) {
      word += value[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}

/** KEY=VALUE pairs, or Dockerfile's older "KEY VALUE" form (one pair, the rest is the value). */
function keyValues(change: string, value: string): Array<[string, string]> {
  let words: string[];
  try {
    words = splitWords(value);
  } catch (e) {
    throw invalid(change, (e as Error).message);
  }
  if (words.length > 0 && !words[0].includes('=')) {
    const rest = value.trim().slice(value.trim().search(/\s/) + 1).trim();
    if (words.length < 2) throw invalid(change, 'needs KEY=VALUE');
    return [[words[0], splitWords(rest).join(' ')]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw invalid(change, `"${w}" is not KEY=VALUE`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function record(config: RunConfig, field: string): Record<string, unknown> {
  const current = config[field];
  const copy = current && typeof current === 'object' ? { ...(current as Record<string, unknown>) } : {};
  config[field] = copy;
  return copy;
}

/** "80", "80/udp", "8000-8002/tcp" -> ["80/tcp"], ...; Docker expands ranges. */
function exposedPorts(change: string, spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  const first = Number(m?.[1]);
  const last = m?.[2] ? Number(m[2]) : first;
  if (!m || first < 1 || last > 65535 || last < first) throw invalid(change, `"${spec}" is not a port, PORT/PROTOCOL or a range of ports`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  return Array.from({ length: last - first + 1 }, (_, i) => `${first + i}/${proto}`);
}

function parseOne(change: string): Apply {
  const m = /^\s*([A-Za-z]+)(?:[\s=]+([\s\S]*))?$/.exec(change);
  if (!m) throw invalid(change, 'expected INSTRUCTION ARGUMENTS, e.g. "CMD ["sh"]"');
  const instruction = m[1].toUpperCase();
  const value = (m[2] ?? '').trim();
  if (!SUPPORTED.includes(instruction)) throw invalid(change, `${instruction} is not an instruction commit and import can apply`);
  if (value === '') throw invalid(change, `${instruction} needs an argument`);
  const command = jsonArray(value) ?? ['/bin/sh', '-c', value];
  switch (instruction) {
    case 'CMD':
      return (config, state) => {
        config.Cmd = command;
        state.cmdSet = true;
      };
    case 'ENTRYPOINT':
      // As in a Dockerfile: a new entrypoint drops the inherited command unless CMD was given.
      return (config, state) => {
        config.Entrypoint = command;
        if (!state.cmdSet) config.Cmd = null;
      };
    case 'ENV': {
      const pairs = keyValues(change, value);
      return (config) => {
        let env = Array.isArray(config.Env) ? (config.Env as string[]) : [];
        for (const [key, val] of pairs) env = [...env.filter((e) => e.split('=')[0] !== key), `${key}=${val}`];
        config.Env = env;
      };
    }
    case 'LABEL': {
      const pairs = keyValues(change, value);
      return (config) => {
        const labels = record(config, 'Labels');
        for (const [key, val] of pairs) labels[key] = val;
      };
    }
    case 'EXPOSE': {
      const ports = value.split(/\s+/).flatMap((spec) => exposedPorts(change, spec));
      return (config) => {
        const exposed = record(config, 'ExposedPorts');
        for (const port of ports) exposed[port] = {};
      };
    }
    case 'VOLUME': {
      const paths = jsonArray(value) ?? value.split(/\s+/);
      if (paths.some((p) => p === '')) throw invalid(change, 'empty volume path');
      return (config) => {
        const volumes = record(config, 'Volumes');
        for (const p of paths) volumes[p] = {};
      };
    }
    case 'USER':
      return (config) => {
        config.User = value;
      };
    case 'WORKDIR':
      return (config) => {
        const base = typeof config.WorkingDir === 'string' && config.WorkingDir ? config.WorkingDir : '/';
        config.WorkingDir = path.posix.resolve(base, value);
      };
    case 'STOPSIGNAL':
      if (!/^(SIG)?[A-Z0-9+-]+$/i.test(value)) throw invalid(change, `"${value}" is not a signal`);
      return (config) => {
        config.StopSignal = value;
      };
    default: // ONBUILD
      return (config) => {
        config.OnBuild = [...(Array.isArray(config.OnBuild) ? (config.OnBuild as string[]) : []), value];
      };
  }
}

/** Parses every change; the result applies them in order to a copy of `config`. */
export function parseChanges(changes: string[]): (config: RunConfig | undefined) => RunConfig {
  const steps = changes.map(parseOne);
  return (config) => {
    const result: RunConfig = { ...(config ?? {}) };
    const state = { cmdSet: false };
    for (const step of steps) step(result, state);
    return result;
  };
}
