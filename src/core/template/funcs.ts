/**
 * The functions a template can call: Go's text/template builtins and the ones Docker and Podman
 * add for `--format` (json, split, join, title, lower, upper, pad, truncate).
 */
import { formatValue, goJson, goSprint, goSprintf, goSprintln, goTypeName } from './gofmt.js';

export interface TemplateFunc {
  /** Fewest arguments; `max` is Infinity for variadic functions. */
  min: number;
  max: number;
  call(args: unknown[]): unknown;
}

/** An error a function reports; the evaluator prefixes it with `error calling <name>: `. */
export class FuncError extends Error {}

/** An argument of the wrong type; Go reports it without the `error calling` prefix. */
export class ArgTypeError extends Error {}

const fixed = (n: number, call: (args: unknown[]) => unknown): TemplateFunc => ({ min: n, max: n, call });
const variadic = (min: number, call: (args: unknown[]) => unknown): TemplateFunc => ({ min, max: Infinity, call });

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
export function isTrue(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v !== '';
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function expectType(v: unknown, type: 'string' | 'int'): void {
  const ok = type === 'string' ? typeof v === 'string' : typeof v === 'number' && Number.isInteger(v);
  if (ok) return;
  if (v === undefined || v === null) throw new ArgTypeError(`invalid value; expected ${type}`);
  throw new ArgTypeError(`wrong type for value; expected ${type}; got ${goTypeName(v)}`);
}

function str(v: unknown): string {
  expectType(v, 'string');
  return v as string;
}

function int(v: unknown): number {
  expectType(v, 'int');
  return v as number;
}

function list(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v === undefined || v === null) return [];
  throw new ArgTypeError(`wrong type for value; expected []string; got ${goTypeName(v)}`);
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function length(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  if (v === undefined || v === null) throw new FuncError('len of nil pointer');
  throw new FuncError(`len of type ${goTypeName(v)}`);
}

function indexArg(v: unknown, cap: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new FuncError(`cannot index slice/array with type ${goTypeName(v)}`);
  }
  if (v < 0 || v >= cap) throw new FuncError(`index out of range: ${v}`);
  return v;
}

function index(item: unknown, keys: unknown[]): unknown {
  let v = item;
  for (const key of keys) {
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) v = v[indexArg(key, v.length)];
    else if (typeof v === 'string') v = Buffer.from(v)[indexArg(key, Buffer.byteLength(v))];
    else if (isMap(v)) {
      if (typeof key !== 'string') throw new FuncError(`value has type ${goTypeName(key)}; should be string`);
      v = Object.hasOwn(v, key) ? v[key] : undefined;
    } else throw new FuncError(`can't index item of type ${goTypeName(v)}`);
  }
  return v;
}

function slice(item: unknown, bounds: unknown[]): unknown {
  const isString = typeof item === 'string';
  if (!isString && !Array.isArray(item)) throw new FuncError(`can't slice item of type ${goTypeName(item)}`);
  if (bounds.length > 3 || (isString && bounds.length > 2)) throw new FuncError(`too many slice indexes: ${bounds.length}`);
  const cap = isString ? Buffer.byteLength(item) : (item as unknown[]).length;
  const idx = bounds.map((b) => indexArg(b, cap + 1));
  for (let k = 1; k < idx.length; k++) {
    if (idx[k - 1]! > idx[k]!) throw new FuncError(`invalid slice index: ${idx[k - 1]} > ${idx[k]}`);
  }
  const [start = 0, end = cap] = idx;
  return isString ? Buffer.from(item).subarray(start, end).toString() : (item as unknown[]).slice(start, end);
}

type Kind = 'invalid' | 'bool' | 'number' | 'string' | 'other';

function basicKind(v: unknown): Kind {
  if (v === undefined || v === null) return 'invalid';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  return 'other';
}

/** Go's eq: true if the first argument equals any of the others. */
function eq(args: unknown[]): boolean {
  const [first, ...rest] = args;
  if (rest.length === 0) throw new FuncError('missing argument for comparison');
  const k1 = basicKind(first);
  if (k1 === 'other') throw new FuncError('invalid type for comparison');
  return rest.some((arg) => {
    const k2 = basicKind(arg);
    if (k2 === 'other') throw new FuncError('invalid type for comparison');
    if (k1 !== k2) {
      if (k1 !== 'invalid' && k2 !== 'invalid') throw new FuncError('incompatible types for comparison');
      return false;
    }
    return k1 === 'invalid' || first === arg;
  });
}

function lt(a: unknown, b: unknown): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 !== 'number' && k1 !== 'string') throw new FuncError('invalid type for comparison');
  if (k1 !== k2) throw new FuncError('incompatible types for comparison');
  return (a as number | string) < (b as number | string);
}

/** Go's strings.Title: upper-case the first letter of each word. */
function title(s: string): string {
  let out = '';
  let prev = ' ';
  for (const ch of s) {
    out += isSeparator(prev) ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

function isSeparator(ch: string): boolean {
  if (/^[\p{L}\p{N}_]$/u.test(ch)) return false;
  if (/^[\x00-\x7f]$/.test(ch)) return true;
  return /^\s$/u.test(ch);
}

/** Go's evalArgs for html/urlquery: a lone string as is, anything else through Sprint. */
const textOf = (args: unknown[]): string => (args.length === 1 && typeof args[0] === 'string' ? args[0] : goSprint(args));

function htmlEscape(s: string): string {
  const table: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' };
  return s.replace(/[<>&'"\0]/g, (c) => table[c]!);
}

function queryEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+').replace(/%7E/g, '~');
}

export const FUNCS: Record<string, TemplateFunc> = {
  // and/or short-circuit; the evaluator handles them and `call` is not used.
  and: variadic(1, (args) => args.find((a) => !isTrue(a)) ?? args[args.length - 1]),
  or: variadic(1, (args) => args.find((a) => isTrue(a)) ?? args[args.length - 1]),
  not: fixed(1, ([a]) => !isTrue(a)),
  len: fixed(1, ([a]) => length(a)),
  index: variadic(1, ([item, ...keys]) => index(item, keys)),
  slice: variadic(1, ([item, ...bounds]) => slice(item, bounds)),
  print: variadic(0, goSprint),
  printf: variadic(1, ([format, ...args]) => goSprintf(str(format), args)),
  println: variadic(0, goSprintln),
  eq: variadic(1, eq),
  ne: fixed(2, (args) => !eq(args)),
  lt: fixed(2, ([a, b]) => lt(a, b)),
  le: fixed(2, ([a, b]) => lt(a, b) || eq([a, b])),
  gt: fixed(2, ([a, b]) => !lt(a, b) && !eq([a, b])),
  ge: fixed(2, ([a, b]) => !lt(a, b)),
  html: variadic(0, (args) => htmlEscape(textOf(args))),
  urlquery: variadic(0, (args) => queryEscape(textOf(args))),

  json: fixed(1, ([v]) => goJson(v)),
  split: fixed(2, ([s, sep]) => (str(sep) === '' ? [...str(s)] : str(s).split(sep as string))),
  join: fixed(2, ([elems, sep]) => list(elems).map((e) => (typeof e === 'string' ? e : formatValue(e))).join(str(sep))),
  title: fixed(1, ([s]) => title(str(s))),
  lower: fixed(1, ([s]) => str(s).toLowerCase()),
  upper: fixed(1, ([s]) => str(s).toUpperCase()),
  pad: fixed(3, ([s, prefix, suffix]) =>
    str(s) === '' ? '' : ' '.repeat(Math.max(int(prefix), 0)) + s + ' '.repeat(Math.max(int(suffix), 0)),
  ),
  truncate: fixed(2, ([s, n]) => [...str(s)].slice(0, Math.max(int(n), 0)).join('')),
};

/**
 * Docker renders a table's header row with the same template, over the column names, and with
 * these string functions turned into the identity so that `{{upper .Name}}` heads its column `NAME`.
 */
export const HEADER_FUNCS: Record<string, TemplateFunc> = {
  ...FUNCS,
  ...Object.fromEntries(
    (['json', 'split', 'join', 'title', 'lower', 'upper', 'pad', 'truncate'] as const).map((name) => [
      name,
      { ...FUNCS[name]!, call: (args: unknown[]) => args[0] },
    ]),
  ),
};
