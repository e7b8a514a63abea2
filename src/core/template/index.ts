/**
 * Go templates for every `--format` flag, with Docker's conventions around them: a `table`
 * prefix prints a header row and aligns the columns, `json` prints one JSON object per line, and
 * the two-character sequences `\t` and `\n` in the text of a format mean tab and newline.
 */
import { TspodError } from '../errors.js';
import { ExecError, TemplateError } from './errors.js';
import { execute } from './exec.js';
import { FUNCS, HEADER_FUNCS } from './funcs.js';
import { goJson, goQuote } from './gofmt.js';
import { parse, type Node } from './parser.js';
import { DOCKER_TABLE, tabwrite } from './tabwriter.js';

export { goJson, goSprintf } from './gofmt.js';
export { DOCKER_TABLE, tabwrite, type TabWriterSettings } from './tabwriter.js';

export interface CompiledTemplate {
  /** Render over `data`; throws TspodError if the template cannot be applied to it. */
  execute(data: unknown): string;
}

/** Parse a Go template; throws TspodError (exit 125) if it is malformed or names an unknown function. */
export function compileTemplate(format: string): CompiledTemplate {
  const nodes = parseOrThrow(format, format);
  return { execute: (data) => executeOrThrow(format, format, nodes, data) };
}

/** Render a Go template over one value, as is (no newline added). */
export function renderTemplate(format: string, data: unknown): string {
  return compileTemplate(format).execute(data);
}

export interface FormatOptions {
  /** The format when none is given or it is just `table`, e.g. `table {{.ID}}\t{{.Names}}`. */
  defaultTable: string;
  /** Column headers by field name (`ID` -> `IMAGE ID`); other fields get {@link defaultHeader}. */
  headers?: Record<string, string>;
}

/**
 * Render a list command's rows (`images`, `ps`, ...) the way Docker does for `--format`:
 * - undefined or `table`: `opts.defaultTable`;
 * - `table <template>`: a header row, then a row per item, aligned by a tabwriter (Docker's settings);
 * - `json`: each row as one compact JSON object per line;
 * - anything else: the template rendered per row, one row per line, no header.
 */
export function renderFormat(format: string | undefined, rows: object[], opts: FormatOptions): string {
  const chosen = format === undefined || format.trim() === 'table' ? opts.defaultTable : format;
  if (chosen.trim() === 'json') return rows.map((row) => `${goJson(row)}\n`).join('');
  const isTable = /^table(\s|$)/.test(chosen);
  const body = trimSpaces(isTable ? chosen.slice('table'.length) : chosen);
  const nodes = parseOrThrow(body, chosen);
  const terminator = /(\n|\\n)$/.test(body) ? '' : '\n';
  const lines = rows.map((row) => executeOrThrow(chosen, body, nodes, row) + terminator);
  if (!isTable) return lines.join('');
  const header = execute(body, nodes, undefined, {
    funcs: HEADER_FUNCS,
    header: (idents) => opts.headers?.[idents.join('.')] ?? defaultHeader(idents[idents.length - 1] ?? ''),
  });
  return tabwrite(header + terminator + lines.join(''), DOCKER_TABLE);
}

/**
 * Render an inspect-style command's values: undefined or `json` gives the JSON array Docker prints
 * (4-space indent, `<>&` escaped as json.MarshalIndent does), a template gives one line per value.
 */
export function renderInspect(format: string | undefined, values: unknown[]): string {
  if (format === undefined || format.trim() === 'json') return `${toJsonArray(values)}\n`;
  const nodes = parseOrThrow(format, format);
  const terminator = /(\n|\\n)$/.test(format) ? '' : '\n';
  return values.map((value) => executeOrThrow(format, format, nodes, value) + terminator).join('');
}

/** The JSON array `docker inspect` prints. */
export function toJsonArray(values: unknown[]): string {
  return goJson(values, true, '    ');
}

/** The header Docker and Podman derive from a field name: `CreatedAt` -> `CREATED AT`, `ImageID` -> `IMAGE ID`. */
export function defaultHeader(field: string): string {
  return field
    .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{Lu}+)(\p{Lu}\p{Ll})/gu, '$1 $2')
    .toUpperCase();
}

/** Docker trims spaces (only spaces) around a format. */
function trimSpaces(s: string): string {
  return s.replace(/^ +| +$/g, '');
}

function parseOrThrow(body: string, format: string): Node[] {
  try {
    return parse(body, (name) => Object.hasOwn(FUNCS, name), { expandEscapes: true });
  } catch (e) {
    if (e instanceof TemplateError) throw new TspodError(`template: invalid format ${goQuote(format)}`, where(e) + e.detail);
    throw e;
  }
}

/** `body` is what was parsed: `format` without its `table` prefix. */
function executeOrThrow(format: string, body: string, nodes: Node[], data: unknown): string {
  try {
    return execute(body, nodes, data, { funcs: FUNCS });
  } catch (e) {
    if (e instanceof ExecError) {
      throw new TspodError(`template: cannot execute ${goQuote(format)}`, `${where(e)}at <${e.context}>: ${e.detail}`);
    }
    throw e;
  }
}

/** Formats are usually one line; name the line only when there are several. */
function where(e: TemplateError): string {
  return e.source.includes('\n') ? `line ${e.line}: ` : '';
}
