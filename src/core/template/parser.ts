/**
 * Parser for Go's text/template syntax, modelled on Go's text/template/parse/parse.go so that the
 * same templates are accepted and rejected, with the same wording in errors.
 */
import { TemplateError } from './errors.js';
import { lex, type LexOptions, type Token, type TokenType } from './lexer.js';

export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pos: number; pipe: Pipe }
  | ControlNode
  | { kind: 'break' | 'continue'; pos: number };

export interface ControlNode {
  kind: 'if' | 'with' | 'range';
  pos: number;
  pipe: Pipe;
  list: Node[];
  elseList?: Node[];
}

export interface Pipe {
  pos: number;
  /** Variables declared (`:=`) or assigned (`=`) by the pipeline, e.g. `$i, $e := .X`. */
  decl: string[];
  isAssign: boolean;
  cmds: Command[];
}

export interface Command {
  pos: number;
  args: Arg[];
}

export type Arg =
  | { kind: 'field'; pos: number; idents: string[] }
  | { kind: 'variable'; pos: number; name: string; idents: string[] }
  | { kind: 'chain'; pos: number; node: Arg; idents: string[] }
  | { kind: 'identifier'; pos: number; name: string }
  | { kind: 'pipe'; pos: number; pipe: Pipe }
  | { kind: 'dot'; pos: number }
  | { kind: 'nil'; pos: number }
  | { kind: 'bool'; pos: number; value: boolean }
  | { kind: 'number'; pos: number; value: number; text: string }
  | { kind: 'string'; pos: number; value: string; text: string };

type Terminator = { kind: 'end'; pos: number } | { kind: 'else'; pos: number };

const UNSUPPORTED_KEYWORDS = new Set(['block', 'define', 'template']);

/** Parse `source`; `hasFunction` decides which identifiers are known functions. */
export function parse(source: string, hasFunction: (name: string) => boolean, options: LexOptions = {}): Node[] {
  return new Parser(source, lex(source, options), hasFunction).parse();
}

class Parser {
  private i = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;

  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
    private readonly hasFunction: (name: string) => boolean,
  ) {}

  parse(): Node[] {
    const list: Node[] = [];
    while (this.peek().type !== 'eof') {
      const node = this.textOrAction();
      if (node.kind === 'end' || node.kind === 'else') this.fail(`unexpected {{${node.kind}}}`, node.pos);
      list.push(node);
    }
    return list;
  }

  private fail(message: string, pos = this.peek().pos): never {
    throw new TemplateError(message, this.source, pos);
  }

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private next(): Token {
    return this.tokens[this.i++]!;
  }

  private backup(n = 1): void {
    this.i -= n;
  }

  private peekNonSpace(): Token {
    while (this.peek().type === 'space') this.i++;
    return this.peek();
  }

  private nextNonSpace(): Token {
    this.peekNonSpace();
    return this.next();
  }

  private expect(type: TokenType, context: string): Token {
    const token = this.nextNonSpace();
    if (token.type !== type) this.unexpected(token, context);
    return token;
  }

  private unexpected(token: Token, context: string): never {
    this.fail(`unexpected ${describe(token)} in ${context}`, token.pos);
  }

  /** Nodes up to the `{{end}}` or `{{else}}` that closes the enclosing control structure. */
  private itemList(): { list: Node[]; terminator: Terminator } {
    const list: Node[] = [];
    while (this.peekNonSpace().type !== 'eof') {
      const node = this.textOrAction();
      if (node.kind === 'end' || node.kind === 'else') return { list, terminator: node };
      list.push(node);
    }
    this.fail('unexpected EOF');
  }

  private textOrAction(): Node | Terminator {
    const token = this.next();
    if (token.type === 'text') return { kind: 'text', text: token.text };
    if (token.type === 'leftDelim') return this.action();
    this.unexpected(token, 'input');
  }

  private action(): Node | Terminator {
    const token = this.nextNonSpace();
    if (token.type === 'keyword') {
      switch (token.text) {
        case 'end':
          this.expect('rightDelim', 'end');
          return { kind: 'end', pos: token.pos };
        case 'else': {
          const peek = this.peekNonSpace();
          // `{{else if ...}}` and `{{else with ...}}` are `{{else}}{{if ...}}` ending at the same {{end}}.
          if (!(peek.type === 'keyword' && (peek.text === 'if' || peek.text === 'with'))) this.expect('rightDelim', 'else');
          return { kind: 'else', pos: token.pos };
        }
        case 'if':
        case 'with':
        case 'range':
          return this.control(token.text, token.pos);
        case 'break':
        case 'continue':
          if (this.rangeDepth === 0) this.fail(`{{${token.text}}} outside {{range}}`, token.pos);
          this.expect('rightDelim', token.text);
          return { kind: token.text, pos: token.pos };
        default:
          if (UNSUPPORTED_KEYWORDS.has(token.text)) this.fail(`{{${token.text}}} is not supported`, token.pos);
      }
    }
    this.backup();
    return { kind: 'action', pos: token.pos, pipe: this.pipeline('command', 'rightDelim') };
  }

  private control(context: 'if' | 'with' | 'range', pos: number): Node {
    const varsBefore = this.vars.length;
    const pipe = this.pipeline(context, 'rightDelim');
    if (context === 'range') this.rangeDepth++;
    const { list, terminator } = this.itemList();
    if (context === 'range') this.rangeDepth--;
    let elseList: Node[] | undefined;
    if (terminator.kind === 'else') {
      const peek = this.peek();
      if (peek.type === 'keyword' && peek.text === context && context !== 'range') {
        this.next();
        elseList = [this.control(context, peek.pos)];
      } else {
        const rest = this.itemList();
        if (rest.terminator.kind !== 'end') this.fail('expected end; found {{else}}', rest.terminator.pos);
        elseList = rest.list;
      }
    }
    this.vars.length = varsBefore;
    return { kind: context, pos, pipe, list, elseList };
  }

  private pipeline(context: string, end: 'rightDelim' | 'rightParen'): Pipe {
    const pipe: Pipe = { pos: this.peekNonSpace().pos, decl: [], isAssign: false, cmds: [] };
    this.declarations(pipe, context);
    for (;;) {
      const token = this.nextNonSpace();
      if (token.type === end) break;
      switch (token.type) {
        case 'bool':
        case 'char':
        case 'dot':
        case 'field':
        case 'identifier':
        case 'number':
        case 'nil':
        case 'string':
        case 'variable':
        case 'leftParen':
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(token, context);
      }
    }
    if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`, pipe.pos);
    pipe.cmds.slice(1).forEach((cmd, i) => {
      if (['bool', 'dot', 'nil', 'number', 'string'].includes(cmd.args[0]!.kind)) {
        this.fail(`non executable command in pipeline stage ${i + 2}`, cmd.pos);
      }
    });
    return pipe;
  }

  /** `$x :=`, `$x =` or, in a range, `$i, $e :=`; leaves the tokens alone when there is none. */
  private declarations(pipe: Pipe, context: string): void {
    for (;;) {
      const start = this.i;
      const variable = this.peekNonSpace();
      if (variable.type !== 'variable') return;
      this.next();
      const next = this.peekNonSpace();
      if (next.type === 'declare' || next.type === 'assign') {
        this.next();
        pipe.isAssign = next.type === 'assign';
        pipe.decl.push(variable.text);
        this.vars.push(variable.text);
        return;
      }
      if (next.type === 'comma') {
        this.next();
        pipe.decl.push(variable.text);
        this.vars.push(variable.text);
        if (context === 'range' && pipe.decl.length < 2 && this.peekNonSpace().type === 'variable') continue;
        this.fail(context === 'range' && pipe.decl.length < 2 ? 'range can only initialize variables' : `too many declarations in ${context}`);
      }
      this.i = start;
      return;
    }
  }

  private command(): Command {
    const cmd: Command = { pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const token = this.next();
      if (token.type === 'space') continue;
      if (token.type === 'rightDelim' || token.type === 'rightParen') this.backup();
      else if (token.type !== 'pipe') this.unexpected(token, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.fail('empty command', cmd.pos);
    return cmd;
  }

  private operand(): Arg | undefined {
    const node = this.term();
    if (!node || this.peek().type !== 'field') return node;
    const idents: string[] = [];
    while (this.peek().type === 'field') idents.push(this.next().text.slice(1));
    if (node.kind === 'field' || node.kind === 'variable') return { ...node, idents: [...node.idents, ...idents] };
    if (['bool', 'string', 'number', 'nil', 'dot'].includes(node.kind)) {
      this.fail(`unexpected . after term ${JSON.stringify(termText(node))}`, node.pos);
    }
    return { kind: 'chain', pos: node.pos, node, idents };
  }

  private term(): Arg | undefined {
    const token = this.nextNonSpace();
    const pos = token.pos;
    switch (token.type) {
      case 'identifier':
        if (!this.hasFunction(token.text)) this.fail(`function "${token.text}" not defined`, pos);
        return { kind: 'identifier', pos, name: token.text };
      case 'dot':
        return { kind: 'dot', pos };
      case 'nil':
        return { kind: 'nil', pos };
      case 'variable':
        if (!this.vars.includes(token.text)) this.fail(`undefined variable "${token.text}"`, pos);
        return { kind: 'variable', pos, name: token.text, idents: [] };
      case 'field':
        return { kind: 'field', pos, idents: [token.text.slice(1)] };
      case 'bool':
        return { kind: 'bool', pos, value: token.text === 'true' };
      case 'number':
        return { kind: 'number', pos, value: this.number(token), text: token.text };
      case 'char': {
        const value = this.unquote(token).codePointAt(0);
        if (value === undefined || [...this.unquote(token)].length !== 1) this.fail(`malformed character constant: ${token.text}`, pos);
        return { kind: 'number', pos, value, text: token.text };
      }
      case 'leftParen':
        return { kind: 'pipe', pos, pipe: this.pipeline('parenthesized pipeline', 'rightParen') };
      case 'string':
        return { kind: 'string', pos, value: this.unquote(token), text: token.text };
      default:
        this.backup();
        return undefined;
    }
  }

  private number(token: Token): number {
    const negative = token.text.startsWith('-');
    const digits = token.text.replace(/^[+-]/, '').replace(/_/g, '');
    const magnitude = /^0[0-7]+$/.test(digits) ? parseInt(digits, 8) : Number(digits);
    if (Number.isNaN(magnitude)) this.fail(`bad number syntax: "${token.text}"`, token.pos);
    return negative ? -magnitude : magnitude;
  }

  private unquote(token: Token): string {
    const body = token.text.slice(1, -1);
    if (token.text.startsWith('`')) return body.replace(/\r/g, '');
    const bytes: number[] = [];
    const pushText = (s: string): void => {
      bytes.push(...Buffer.from(s, 'utf8'));
    };
    for (let k = 0; k < body.length; k++) {
      const c = body[k]!;
      if (c !== '\\') {
        const code = body.codePointAt(k)!;
        const ch = String.fromCodePoint(code);
        pushText(ch);
        k += ch.length - 1;
        continue;
      }
      const e = body[++k];
      const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
      const hexLength: Record<string, number> = { x: 2, u: 4, U: 8 };
      if (e !== undefined && e in simple) pushText(simple[e]!);
      else if (e === '"' && token.type === 'string') pushText('"');
      else if (e === "'" && token.type === 'char') pushText("'");
      else if (e !== undefined && e in hexLength) {
        const hex = body.slice(k + 1, k + 1 + hexLength[e]!);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== hexLength[e]) this.fail('invalid syntax', token.pos);
        const value = parseInt(hex, 16);
        if (e === 'x') bytes.push(value);
        else if (value > 0x10ffff || (value >= 0xd800 && value < 0xe000)) this.fail('invalid syntax', token.pos);
        else pushText(String.fromCodePoint(value));
        k += hexLength[e]!;
      } else if (e !== undefined && /[0-7]/.test(e)) {
        const oct = body.slice(k, k + 3);
        if (!/^[0-7]{3}$/.test(oct) || parseInt(oct, 8) > 255) this.fail('invalid syntax', token.pos);
        bytes.push(parseInt(oct, 8));
        k += 2;
      } else {
        this.fail('invalid syntax', token.pos);
      }
    }
    return Buffer.from(bytes).toString('utf8');
  }
}

function termText(node: Arg): string {
  switch (node.kind) {
    case 'string':
    case 'number':
      return node.text;
    case 'bool':
      return String(node.value);
    case 'nil':
      return 'nil';
    default:
      return '.';
  }
}

/** How Go names a token in `unexpected X in Y` errors. */
function describe(token: Token): string {
  if (token.type === 'eof') return 'EOF';
  if (token.type === 'keyword' || token.type === 'dot' || token.type === 'nil') return `<${token.text}>`;
  if (token.type === 'rightDelim') return '"}}"';
  const text = token.text.length > 10 ? `${JSON.stringify(token.text.slice(0, 10))}...` : JSON.stringify(token.text);
  return text;
}
