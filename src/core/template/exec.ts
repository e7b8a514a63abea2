/**
 * Executes a parsed template over JSON-like data with Go's text/template semantics: fields are
 * looked up as map keys, missing ones are `<no value>`, pipelines pass their value as the last
 * argument of the next command, and range visits map keys in sorted order.
 */
import { ExecError } from './errors.js';
import { ArgTypeError, FuncError, isTrue, type TemplateFunc } from './funcs.js';
import { formatValue, goTypeName, sortedKeys } from './gofmt.js';
import type { Arg, Command, ControlNode, Node, Pipe } from './parser.js';

/** No value flows in from the previous command of the pipeline. */
const MISSING = Symbol('missing');

const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');

export interface ExecOptions {
  funcs: Record<string, TemplateFunc>;
  /**
   * Header mode: every field chain evaluates to its column header instead of being looked up,
   * which is how Docker renders the header row of a `table` format.
   */
  header?: (idents: string[]) => string;
}

export function execute(source: string, nodes: Node[], data: unknown, options: ExecOptions): string {
  const state = new State(source, data, options);
  try {
    state.walkList(data, nodes);
  } catch (e) {
    // Docker ignores errors in the header row and prints what was rendered before them.
    if (!(options.header && e instanceof ExecError)) throw e;
  }
  return state.out;
}

class State {
  out = '';
  private vars: { name: string; value: unknown }[];

  constructor(
    private readonly source: string,
    data: unknown,
    private readonly options: ExecOptions,
  ) {
    this.vars = [{ name: '$', value: data }];
  }

  walkList(dot: unknown, nodes: Node[]): void {
    for (const node of nodes) this.walk(dot, node);
  }

  private walk(dot: unknown, node: Node): void {
    switch (node.kind) {
      case 'text':
        this.out += node.text;
        return;
      case 'action': {
        const value = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.out += value === undefined || value === null ? '<no value>' : formatValue(value);
        return;
      }
      case 'if':
      case 'with': {
        const mark = this.vars.length;
        const value = this.evalPipeline(dot, node.pipe);
        if (isTrue(value)) this.walkList(node.kind === 'with' ? value : dot, node.list);
        else if (node.elseList) this.walkList(dot, node.elseList);
        this.vars.length = mark;
        return;
      }
      case 'range':
        this.walkRange(dot, node);
        return;
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
    }
  }

  private walkRange(dot: unknown, node: ControlNode): void {
    const mark = this.vars.length;
    const value = this.evalPipeline(dot, node.pipe);
    const { decl, isAssign } = node.pipe;
    const setVar = (k: number, v: unknown): void => {
      if (isAssign) this.setVar(decl[k]!, v, node.pipe.pos);
      else this.vars[mark + k]!.value = v;
    };
    const iterationMark = this.vars.length;
    let empty = true;
    for (const [key, elem] of this.rangeEntries(value, node.pipe)) {
      empty = false;
      if (decl.length === 1) setVar(0, elem);
      if (decl.length === 2) {
        setVar(0, key);
        setVar(1, elem);
      }
      try {
        this.walkList(elem, node.list);
      } catch (signal) {
        if (signal === BREAK) break;
        if (signal !== CONTINUE) throw signal;
      } finally {
        this.vars.length = iterationMark;
      }
    }
    if (empty && node.elseList) this.walkList(dot, node.elseList);
    this.vars.length = mark;
  }

  /** Key/element pairs, lazily: `{{range 1000000000}}` must not build an array first. */
  private *rangeEntries(value: unknown, pipe: Pipe): Generator<[unknown, unknown]> {
    if (value === undefined || value === null) return;
    if (Array.isArray(value)) {
      yield* value.entries();
      return;
    }
    if (typeof value === 'number' && Number.isInteger(value)) {
      if (pipe.decl.length > 1) this.fail(pipe.pos, pipeText(pipe), `can't use ${value} to iterate over more than one variable`);
      for (let i = 0; i < value; i++) yield [i, i];
      return;
    }
    if (typeof value === 'object') {
      const map = value as Record<string, unknown>;
      for (const k of sortedKeys(map)) yield [k, map[k]];
      return;
    }
    this.fail(pipe.pos, pipeText(pipe), `range can't iterate over ${formatValue(value)}`);
  }

  private fail(pos: number, context: string, detail: string): never {
    throw new ExecError(detail, this.source, pos, context);
  }

  private setVar(name: string, value: unknown, pos: number): void {
    for (let k = this.vars.length - 1; k >= 0; k--) {
      if (this.vars[k]!.name === name) {
        this.vars[k]!.value = value;
        return;
      }
    }
    this.fail(pos, name, `undefined variable: ${name}`);
  }

  private varValue(name: string, pos: number): unknown {
    for (let k = this.vars.length - 1; k >= 0; k--) {
      if (this.vars[k]!.name === name) return this.vars[k]!.value;
    }
    return this.fail(pos, name, `undefined variable: ${name}`);
  }

  private evalPipeline(dot: unknown, pipe: Pipe): unknown {
    let value: unknown = MISSING;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    for (const name of pipe.decl) {
      if (pipe.isAssign) this.setVar(name, value, pipe.pos);
      else this.vars.push({ name, value });
    }
    return value;
  }

  private evalCommand(dot: unknown, cmd: Command, final: unknown): unknown {
    const first = cmd.args[0]!;
    switch (first.kind) {
      case 'field':
        return this.evalFieldChain(dot, first, first.idents, cmd.args, final);
      case 'chain':
        return this.evalFieldChain(this.evalArg(dot, first.node), first, first.idents, cmd.args, final);
      case 'variable': {
        const value = this.varValue(first.name, first.pos);
        if (first.idents.length === 0) {
          this.notAFunction(cmd.args, final);
          return value;
        }
        return this.evalFieldChain(value, first, first.idents, cmd.args, final);
      }
      case 'identifier':
        return this.evalFunction(dot, first.name, cmd.args, final, first.pos, cmdText(cmd));
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first.pipe);
      case 'nil':
        return this.fail(first.pos, 'nil', 'nil is not a command');
      default:
        this.notAFunction(cmd.args, final);
        return this.evalArg(dot, first);
    }
  }

  private notAFunction(args: Arg[], final: unknown): void {
    if (args.length > 1 || final !== MISSING) {
      this.fail(args[0]!.pos, argText(args[0]!), `can't give argument to non-function ${argText(args[0]!)}`);
    }
  }

  private evalFieldChain(receiver: unknown, node: Arg, idents: string[], args: Arg[], final: unknown): unknown {
    if (this.options.header) return this.options.header(idents);
    const hasArgs = args.length > 1 || final !== MISSING;
    let value = receiver;
    idents.forEach((name, k) => {
      if (value === undefined || value === null) {
        value = undefined;
        return;
      }
      if (typeof value !== 'object' || Array.isArray(value)) {
        this.fail(node.pos, argText(node), `can't evaluate field ${name} in type ${goTypeName(value)}`);
      }
      if (hasArgs && k === idents.length - 1) this.fail(node.pos, argText(node), `${name} is not a method but has arguments`);
      const map = value as Record<string, unknown>;
      value = Object.hasOwn(map, name) ? map[name] : undefined;
    });
    return value;
  }

  private evalFunction(dot: unknown, name: string, args: Arg[], final: unknown, pos: number, context: string): unknown {
    const fn = this.options.funcs[name]!;
    const given = args.length - 1 + (final === MISSING ? 0 : 1);
    if (given < fn.min || given > fn.max) {
      const want = fn.min === fn.max ? `${fn.min}` : `at least ${fn.min}`;
      this.fail(pos, context, `wrong number of args for ${name}: want ${want} got ${given}`);
    }
    if (name === 'and' || name === 'or') {
      let value: unknown;
      for (const arg of args.slice(1)) {
        value = this.evalArg(dot, arg);
        if (isTrue(value) === (name === 'or')) return value;
      }
      return final === MISSING ? value : final;
    }
    const values = args.slice(1).map((arg) => this.evalArg(dot, arg));
    if (final !== MISSING) values.push(final);
    try {
      return fn.call(values);
    } catch (e) {
      if (e instanceof ArgTypeError) this.fail(pos, context, e.message);
      if (e instanceof FuncError) this.fail(pos, context, `error calling ${name}: ${e.message}`);
      throw e;
    }
  }

  private evalArg(dot: unknown, arg: Arg): unknown {
    switch (arg.kind) {
      case 'field':
      case 'variable':
      case 'chain':
      case 'identifier':
        return this.evalCommand(dot, { pos: arg.pos, args: [arg] }, MISSING);
      case 'pipe':
        return this.evalPipeline(dot, arg.pipe);
      case 'dot':
        return dot;
      case 'nil':
        return null;
      default:
        return arg.value;
    }
  }
}

/** The source form of an argument, for Go-style `at <...>` error contexts. */
function argText(arg: Arg): string {
  switch (arg.kind) {
    case 'field':
      return arg.idents.map((i) => `.${i}`).join('');
    case 'variable':
      return arg.name + arg.idents.map((i) => `.${i}`).join('');
    case 'chain':
      return `${argText(arg.node)}${arg.idents.map((i) => `.${i}`).join('')}`;
    case 'identifier':
      return arg.name;
    case 'pipe':
      return `(${pipeText(arg.pipe)})`;
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(arg.value);
    default:
      return arg.text;
  }
}

function cmdText(cmd: Command): string {
  return cmd.args.map(argText).join(' ');
}

function pipeText(pipe: Pipe): string {
  const decl = pipe.decl.length > 0 ? `${pipe.decl.join(', ')} ${pipe.isAssign ? '=' : ':='} ` : '';
  return decl + pipe.cmds.map(cmdText).join(' | ');
}
