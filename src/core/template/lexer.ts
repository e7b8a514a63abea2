/**
 * Lexer for Go's text/template syntax, following the rules of Go's text/template/parse/lex.go:
 * `{{- ` and ` -}}` trim the surrounding whitespace, `{{/* ... *\/}}` is a comment, and inside an
 * action the words are fields, variables, literals, identifiers and punctuation.
 */
import { TemplateError } from './errors.js';

export type TokenType =
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'field'
  | 'dot'
  | 'variable'
  | 'identifier'
  | 'keyword'
  | 'string'
  | 'number'
  | 'char'
  | 'bool'
  | 'nil'
  | 'pipe'
  | 'declare'
  | 'assign'
  | 'comma'
  | 'leftParen'
  | 'rightParen'
  | 'eof';

export interface Token {
  type: TokenType;
  /** The source text; for `text` tokens, the text after trimming and escape expansion. */
  text: string;
  /** Offset in the template, for error messages. */
  pos: number;
}

export const KEYWORDS = new Set([
  'block',
  'break',
  'continue',
  'define',
  'else',
  'end',
  'if',
  'range',
  'template',
  'with',
]);

const SPACE = ' \t\r\n';
const isSpace = (c: string | undefined): boolean => c !== undefined && c !== '' && SPACE.includes(c);
const isAlnum = (c: string | undefined): boolean => c !== undefined && /^[\p{L}\p{N}_]$/u.test(c);

/** What follows a word inside an action; anything else glued to it is a syntax error. */
const isTerminator = (c: string | undefined): boolean =>
  c === undefined || isSpace(c) || '.,|:()'.includes(c);

export interface LexOptions {
  /** Turn the two-character sequences `\t` and `\n` in plain text into tab and newline, as Docker does. */
  expandEscapes?: boolean;
}

export function lex(input: string, options: LexOptions = {}): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let parenDepth = 0;
  let trimNextText = false;

  const fail = (message: string, at = pos): never => {
    throw new TemplateError(message, input, at);
  };
  const emit = (type: TokenType, start: number, end = pos): void => {
    tokens.push({ type, text: input.slice(start, end), pos: start });
  };
  const atRightDelim = (): { delim: boolean; trim: boolean } => {
    if (isSpace(input[pos]) && input[pos + 1] === '-' && input.startsWith('}}', pos + 2)) {
      return { delim: true, trim: true };
    }
    return { delim: input.startsWith('}}', pos), trim: false };
  };

  while (pos < input.length) {
    // Plain text up to the next action.
    const open = input.indexOf('{{', pos);
    const textEnd = open === -1 ? input.length : open;
    const trimLeft = open !== -1 && input[open + 2] === '-' && isSpace(input[open + 3]);
    let text = input.slice(pos, textEnd);
    if (options.expandEscapes) text = text.replace(/\\([tn])/g, (_, c: string) => (c === 't' ? '\t' : '\n'));
    if (trimNextText) text = trimStart(text);
    if (trimLeft) text = trimEnd(text);
    if (text !== '') tokens.push({ type: 'text', text, pos });
    trimNextText = false;
    if (open === -1) break;

    // An action.
    const actionStart = open;
    pos = open + 2 + (trimLeft ? 2 : 0);
    if (input.startsWith('/*', pos)) {
      const close = input.indexOf('*/', pos + 2);
      if (close === -1) fail('unclosed comment', actionStart);
      pos = close + 2;
      const { delim, trim } = atRightDelim();
      if (!delim) fail('comment ends before closing delimiter', actionStart);
      pos += trim ? 4 : 2;
      trimNextText = trim;
      continue;
    }
    emit('leftDelim', actionStart, open + 2);
    parenDepth = 0;
    for (;;) {
      const { delim, trim } = atRightDelim();
      if (delim) {
        if (parenDepth > 0) fail('unclosed left paren');
        const start = pos;
        pos += trim ? 4 : 2;
        tokens.push({ type: 'rightDelim', text: '}}', pos: start });
        trimNextText = trim;
        break;
      }
      const c = input[pos];
      const start = pos;
      if (c === undefined) fail('unclosed action', actionStart);
      else if (isSpace(c)) {
        while (isSpace(input[pos]) && !atRightDelim().delim) pos++;
        emit('space', start);
      } else if (c === '=') {
        pos++;
        emit('assign', start);
      } else if (c === ':') {
        if (input[pos + 1] !== '=') fail('expected :=');
        pos += 2;
        emit('declare', start);
      } else if (c === '|') {
        pos++;
        emit('pipe', start);
      } else if (c === ',') {
        pos++;
        emit('comma', start);
      } else if (c === '(') {
        pos++;
        parenDepth++;
        emit('leftParen', start);
      } else if (c === ')') {
        pos++;
        parenDepth--;
        if (parenDepth < 0) fail('unexpected right paren', start);
        emit('rightParen', start);
      } else if (c === '"') {
        pos++;
        while (input[pos] !== '"') {
          if (input[pos] === '\\') pos++;
          if (pos >= input.length || input[pos] === '\n') fail('unterminated quoted string', start);
          pos++;
        }
        pos++;
        emit('string', start);
      } else if (c === '`') {
        const close = input.indexOf('`', pos + 1);
        if (close === -1) fail('unterminated raw quoted string', start);
        pos = close + 1;
        emit('string', start);
      } else if (c === "'") {
        pos++;
        while (input[pos] !== "'") {
          if (input[pos] === '\\') pos++;
          if (pos >= input.length || input[pos] === '\n') fail('unterminated character constant', start);
          pos++;
        }
        pos++;
        emit('char', start);
      } else if (c === '$') {
        pos++;
        while (isAlnum(input[pos])) pos++;
        emit('variable', start);
        checkTerminator();
      } else if (c === '.' && !/[0-9]/.test(input[pos + 1] ?? '')) {
        pos++;
        while (isAlnum(input[pos])) pos++;
        emit(pos === start + 1 ? 'dot' : 'field', start);
        checkTerminator();
      } else if (c === '.' || c === '+' || c === '-' || /[0-9]/.test(c)) {
        pos++;
        while (/[0-9a-zA-Z_.+\-]/.test(input[pos] ?? '')) {
          // A sign only belongs to the number right after an exponent marker.
          if ((input[pos] === '+' || input[pos] === '-') && !/[eEpP]/.test(input[pos - 1] ?? '')) break;
          pos++;
        }
        const text = input.slice(start, pos);
        if (!NUMBER.test(text) || !/[0-9]/.test(text) || (!isTerminator(input[pos]) && !atRightDelim().delim)) {
          while (isAlnum(input[pos])) pos++;
          fail(`bad number syntax: "${input.slice(start, pos)}"`, start);
        }
        emit('number', start);
      } else if (isAlnum(c)) {
        while (isAlnum(input[pos])) pos++;
        const word = input.slice(start, pos);
        emit(KEYWORDS.has(word) ? 'keyword' : word === 'true' || word === 'false' ? 'bool' : word === 'nil' ? 'nil' : 'identifier', start);
        checkTerminator();
      } else {
        fail(`unrecognized character in action: ${describeChar(c)}`, start);
      }
    }
  }
  tokens.push({ type: 'eof', text: '', pos: input.length });
  return tokens;

  function checkTerminator(): void {
    if (!isTerminator(input[pos]) && !atRightDelim().delim) fail(`bad character ${describeChar(input[pos]!)}`);
  }
}

/** Go number literals: decimal, hex, octal and binary integers (with `_` separators) and floats. */
const NUMBER =
  /^[+-]?(?:0[xX](?:_?[0-9a-fA-F])+(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:[0-9](?:_?[0-9])*)?\.?(?:[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9_]+)?)$/;

function describeChar(c: string): string {
  const code = c.codePointAt(0)!;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}

function trimStart(s: string): string {
  return s.replace(/^[ \t\r\n]+/, '');
}

function trimEnd(s: string): string {
  return s.replace(/[ \t\r\n]+$/, '');
}
