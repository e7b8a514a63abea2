/**
 * Go's fmt and encoding/json output for the JSON-like values tspod formats: `%v` printing
 * (`[a b]`, `map[k:v]`, `<nil>`), Sprintf with Go's verbs and error markers (`%!d(string=x)`),
 * strconv.Quote, and json.Marshal.
 *
 * Values are modelled on what Go sees after decoding JSON into interface{}: strings, numbers,
 * booleans, nil (null or undefined), slices (arrays) and maps (plain objects). One deliberate
 * difference: integral numbers print as integers (`1000000`, not Go's float64 `1e+06`).
 */

/** Go's name for the type of a value, as in `%T` and in error messages. */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** Keys of a map in the order Go's fmt and range visit them (sorted). */
export function sortedKeys(o: object): string[] {
  return Object.keys(o).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `%v` of a value: what `{{.X}}` prints, except that the template prints a missing value as `<no value>`. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `map[${sortedKeys(o)
      .map((k) => `${k}:${formatValue(o[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return Number.isSafeInteger(n) ? String(n) : BigInt(n).toString();
  return formatFloat(n, 'g', -1);
}

/** Go's strconv.FormatFloat for the verbs e, E, f, F, g, G; `prec` -1 means the shortest exact form. */
export function formatFloat(x: number, verb: string, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const upper = verb === 'E' || verb === 'G';
  const lower = verb.toLowerCase();
  // `digits` holds significant digits d1 d2 ... meaning 0.d1d2... * 10^point.
  let { digits, point } = prec < 0 ? shortestDecimal(Math.abs(x)) : exactDecimal(Math.abs(x));
  if (lower === 'e' || lower === 'g') {
    if (prec >= 0) ({ digits, point } = roundDigits(digits, point, lower === 'e' ? prec + 1 : Math.max(prec, 1)));
    if (lower === 'g') {
      // %e when the exponent is < -4 or >= the precision (6 for the shortest form), else %f.
      digits = digits.replace(/0+$/, '') || '0';
      let eprec = prec < 0 ? 6 : Math.max(prec, 1);
      if (prec >= 0 && eprec > digits.length && digits.length >= point) eprec = digits.length;
      const exp = point - 1;
      if (exp >= -4 && exp < eprec) return sign + fixedText(digits, point, Math.max(digits.length - point, 0));
    }
    const mantissaDigits = lower === 'e' && prec >= 0 ? digits.padEnd(prec + 1, '0') : digits;
    const mantissa = mantissaDigits.length > 1 ? `${mantissaDigits[0]}.${mantissaDigits.slice(1)}` : mantissaDigits;
    return sign + mantissa + (upper ? 'E' : 'e') + expSuffix(digits === '0' ? 0 : point - 1);
  }
  if (prec < 0) return sign + fixedText(digits, point, Math.max(digits.length - point, 0));
  ({ digits, point } = roundDigits(digits, point, point + prec));
  return sign + fixedText(digits, point, prec);
}

/** Go writes at least two exponent digits: `e+06`. */
function expSuffix(exp: number): string {
  return (exp < 0 ? '-' : '+') + String(Math.abs(exp)).padStart(2, '0');
}

interface Decimal {
  digits: string;
  point: number;
}

/** The shortest digits that read back as `a` (what Go's and JavaScript's shortest forms share). */
function shortestDecimal(a: number): Decimal {
  const [mantissa, exp] = a.toExponential().split('e');
  return { digits: mantissa!.replace('.', ''), point: Number(exp) + 1 };
}

/** The exact decimal value of a double, which Go rounds (half to even) for a given precision. */
function exactDecimal(a: number): Decimal {
  if (a === 0) return { digits: '0', point: 1 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, a);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exp2 = (biased === 0 ? 1 : biased) - 1075;
  if (exp2 >= 0) {
    const digits = (mantissa << BigInt(exp2)).toString();
    return { digits, point: digits.length };
  }
  // m / 2^k = m * 5^k / 10^k
  const digits = (mantissa * 5n ** BigInt(-exp2)).toString();
  return { digits, point: digits.length + exp2 };
}

/** Keep `n` leading digits (n may be <= 0), rounding half to even like Go's strconv. */
function roundDigits(digits: string, point: number, n: number): Decimal {
  if (n >= digits.length) return { digits, point };
  if (n < 0) return { digits: '0', point };
  const next = digits.charCodeAt(n) - 48;
  const rest = digits.slice(n + 1);
  const kept = digits.slice(0, n);
  const lastKept = n > 0 ? digits.charCodeAt(n - 1) - 48 : 0;
  const up = next > 5 || (next === 5 && (/[1-9]/.test(rest) || lastKept % 2 === 1));
  if (!up) return { digits: kept || '0', point };
  const incremented = (BigInt(kept || '0') + 1n).toString().padStart(kept.length, '0');
  return incremented.length > kept.length ? { digits: incremented, point: point + 1 } : { digits: incremented, point };
}

/** `0.d1d2... * 10^point` written with `decimals` digits after the decimal point. */
function fixedText(digits: string, point: number, decimals: number): string {
  const allZero = !/[1-9]/.test(digits);
  const intPart = allZero || point <= 0 ? '0' : digits.slice(0, point).padEnd(point, '0');
  const frac = (point < 0 ? '0'.repeat(-point) + digits : digits.slice(Math.max(point, 0))).padEnd(decimals, '0').slice(0, decimals);
  const int = allZero ? '0' : intPart.replace(/^0+(?=\d)/, '');
  return decimals > 0 ? `${int}.${frac}` : int;
}

/** Go's strconv.Quote: a double-quoted string with Go escapes. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    out += quoteRune(ch, code, '"');
  }
  return out + '"';
}

function quoteRune(ch: string, code: number, quote: string): string {
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 92: '\\\\' };
  if (ch === quote) return `\\${ch}`;
  if (named[code]) return named[code]!;
  if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (!isPrintable(ch)) {
    return code > 0xffff ? `\\U${code.toString(16).padStart(8, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return ch;
}

/** Go's unicode.IsPrint, close enough: letters, marks, numbers, punctuation, symbols and ASCII space. */
function isPrintable(ch: string): boolean {
  return ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}

/**
 * Go's json.Marshal: compact, with Go's escaping of U+2028/U+2029 and, if `escapeHtml`, of
 * `<`, `>` and `&`. Missing values marshal as `null`. Object keys keep their order: tspod builds
 * its objects in the order of the Go structs Docker prints.
 */
export function goJson(v: unknown, escapeHtml = false, indent?: string): string {
  const text = JSON.stringify(v === undefined ? null : v, (_key, value: unknown) => (value === undefined ? null : value), indent) ?? 'null';
  return escapeJsonText(text, escapeHtml);
}

function escapeJsonText(text: string, escapeHtml: boolean): string {
  const pattern = escapeHtml ? /[<>&\u2028\u2029]/g : /[\u2028\u2029]/g;
  return text.replace(pattern, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
}

/** Go's fmt.Sprintf. */
export function goSprintf(format: string, args: unknown[]): string {
  let out = '';
  let argIndex = 0;
  let reordered = false;
  let i = 0;
  while (i < format.length) {
    const percent = format.indexOf('%', i);
    if (percent === -1) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, percent);
    i = percent + 1;
    const spec: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false };
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === '-') spec.minus = true;
      else if (c === '+') spec.plus = true;
      else if (c === '#') spec.sharp = true;
      else if (c === ' ') spec.space = true;
      else if (c === '0') spec.zero = !spec.minus;
      else break;
    }
    // An explicit argument index, `%[2]d`, may precede the width, the precision and the verb.
    const argNumber = (): boolean => {
      const m = /^\[(\d+)\]/.exec(format.slice(i));
      if (!m) return true;
      i += m[0].length;
      reordered = true;
      const n = Number(m[1]);
      if (n < 1 || n > args.length) return false;
      argIndex = n - 1;
      return true;
    };
    let goodArgNum = argNumber();
    /** A width or precision: digits, or `*` taking an int argument; 'bad' if that argument is not one. */
    const number = (): number | 'bad' | undefined => {
      if (format[i] === '*') {
        i++;
        const v = argIndex < args.length ? args[argIndex++] : undefined;
        return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 1e6 ? v : 'bad';
      }
      const m = /^\d+/.exec(format.slice(i));
      if (!m) return undefined;
      i += m[0].length;
      return Number(m[0]);
    };
    const width = number();
    if (width === 'bad') out += '%!(BADWIDTH)';
    else if (typeof width === 'number') {
      if (width < 0) spec.minus = true;
      spec.width = Math.abs(width);
    }
    if (format[i] === '.') {
      i++;
      goodArgNum &&= argNumber();
      const prec = number();
      if (prec === 'bad') out += '%!(BADPREC)';
      else spec.prec = typeof prec === 'number' && prec >= 0 ? prec : 0;
    }
    goodArgNum &&= argNumber();
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (!goodArgNum) {
      out += `%!${verb}(BADINDEX)`;
      continue;
    }
    if (argIndex >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatArg(args[argIndex++], verb, spec);
  }
  if (!reordered && argIndex < args.length) {
    out += `%!(EXTRA ${args
      .slice(argIndex)
      .map((a) => (a === null || a === undefined ? '<nil>' : `${goTypeName(a)}=${formatValue(a)}`))
      .join(', ')})`;
  }
  return out;
}

function badVerb(v: unknown, verb: string): string {
  return v === null || v === undefined ? `%!${verb}(<nil>)` : `%!${verb}(${goTypeName(v)}=${formatValue(v)})`;
}

/**
 * Pad to the width, with spaces or, for the `0` flag, zeros on the left; `numeric` keeps a sign
 * in front of the zeros, `noZero` is for numbers with a precision, where Go ignores the flag.
 */
function pad(s: string, spec: Spec, mode: 'text' | 'numeric' | 'noZero' = 'text'): string {
  const length = [...s].length;
  if (spec.width === undefined || length >= spec.width) return s;
  const fill = spec.width - length;
  if (spec.minus) return s + ' '.repeat(fill);
  if (!spec.zero || mode === 'noZero') return ' '.repeat(fill) + s;
  const sign = mode === 'numeric' && /^[+\- ]/.test(s) ? s[0]! : '';
  return sign + '0'.repeat(fill) + s.slice(sign.length);
}

function formatArg(v: unknown, verb: string, spec: Spec): string {
  if (verb === 'T') return pad(goTypeName(v), spec);
  if (verb === 'v' && (v === null || v === undefined)) return pad('<nil>', spec);
  if (Array.isArray(v)) {
    // Go applies the verb to each element of a slice.
    return `[${v.map((e) => formatArg(e, verb, { ...spec, width: undefined })).join(' ')}]`;
  }
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `map[${sortedKeys(o)
      .map((k) => `${formatArg(k, verb, { ...spec, width: undefined })}:${formatArg(o[k], verb, { ...spec, width: undefined })}`)
      .join(' ')}]`;
  }
  if (typeof v === 'string') return formatString(v, verb, spec);
  if (typeof v === 'boolean') return verb === 'v' || verb === 't' ? pad(String(v), spec) : badVerb(v, verb);
  if (typeof v === 'number') return formatNumberArg(v, verb, spec);
  return badVerb(v, verb);
}

function formatString(s: string, verb: string, spec: Spec): string {
  const truncated = spec.prec !== undefined ? [...s].slice(0, spec.prec).join('') : s;
  switch (verb) {
    case 'v':
    case 's':
      return pad(truncated, spec);
    case 'q':
      return pad(spec.sharp && !/[`\x00-\x1f\x7f]/.test(truncated) ? `\`${truncated}\`` : goQuote(truncated), spec);
    case 'x':
    case 'X': {
      let hex = Buffer.from(truncated, 'utf8').toString('hex');
      if (verb === 'X') hex = hex.toUpperCase();
      return pad(spec.sharp ? (verb === 'x' ? '0x' : '0X') + hex : hex, spec);
    }
    default:
      return badVerb(s, verb);
  }
}

const INT_BASES: Record<string, number> = { d: 10, b: 2, o: 8, O: 8, x: 16, X: 16 };
const INT_PREFIXES: Record<string, string> = { b: '0b', o: '0', x: '0x', X: '0X' };

function formatNumberArg(n: number, verb: string, spec: Spec): string {
  const integral = Number.isInteger(n);
  const signed = (body: string, negative: boolean): string =>
    (negative ? '-' : spec.plus ? '+' : spec.space ? ' ' : '') + body;
  if (verb === 'v' && spec.prec !== undefined) return formatNumberArg(n, integral ? 'd' : 'g', spec);
  if (integral && verb in INT_BASES) {
    let digits = BigInt(Math.abs(n)).toString(INT_BASES[verb]);
    if (verb === 'X') digits = digits.toUpperCase();
    if (spec.prec !== undefined) digits = spec.prec === 0 && n === 0 ? '' : digits.padStart(spec.prec, '0');
    let prefix = verb === 'O' ? '0o' : spec.sharp ? (INT_PREFIXES[verb] ?? '') : '';
    if (verb === 'o' && digits.startsWith('0')) prefix = '';
    return pad(signed(prefix + digits, n < 0), spec, spec.prec === undefined ? 'numeric' : 'noZero');
  }
  switch (verb) {
    case 'v':
      return pad(signed(formatNumber(Math.abs(n)), n < 0), spec, 'numeric');
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G': {
      const prec = spec.prec ?? ('eEfF'.includes(verb) ? 6 : -1);
      const text = formatFloat(Math.abs(n), verb, prec);
      return pad(signed(text, n < 0 || Object.is(n, -0)), spec, Number.isFinite(n) ? 'numeric' : 'noZero');
    }
    case 'c':
      return integral && n >= 0 && n <= 0x10ffff ? pad(String.fromCodePoint(n), spec) : badVerb(n, verb);
    case 'q':
      return integral && n >= 0 && n <= 0x10ffff
        ? pad(`'${quoteRune(String.fromCodePoint(n), n, "'")}'`, spec)
        : badVerb(n, verb);
    case 'U':
      return integral && n >= 0 ? pad(`U+${n.toString(16).toUpperCase().padStart(4, '0')}`, spec) : badVerb(n, verb);
    default:
      return badVerb(n, verb);
  }
}

/** Go's fmt.Sprint: operands separated by a space when neither side is a string. */
export function goSprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, k) => {
    if (k > 0 && typeof a !== 'string' && typeof args[k - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

/** Go's fmt.Sprintln: operands always separated by a space, and a trailing newline. */
export function goSprintln(args: unknown[]): string {
  return `${args.map(formatValue).join(' ')}\n`;
}
