/**
 * `tspod exec` without oclif, from a bundle of its own (dist/bundle/tspod-exec.cjs, which
 * bin/tspod tries first): loading the full CLI and oclif's configuration (manifest, plugins,
 * command lookup) costs more CPU than everything exec itself does, and exec is what people run
 * in loops. The line is read with exec's own flag definitions, in the forms people
 * type (-it, -e VAR, -eVAR, --env VAR, --env=VAR, --root DIR); anything else (--help, an
 * unknown or repeated flag, --flag=true, `--`, a value that looks like a flag) goes to oclif,
 * which parses it as every command's line or says what is wrong.
 */
import { EXIT_ENGINE, isTspodError } from '../core/errors.js';
import { runExec, type ExecFlags } from './exec-run.js';
import { globalFlagShapes, liftLeadingGlobals } from './globals.js';
import { openEngineFor, reportError } from './store-access.js';

interface FlagDefinition {
  type: string;
  char?: string;
  multiple?: boolean;
  options?: readonly string[];
}

/** exec's flags (src/commands/exec.ts) as the fast path reads them; a test checks they match. */
export const execFlagShapes: Record<string, FlagDefinition> = {
  interactive: { type: 'boolean', char: 'i' },
  tty: { type: 'boolean', char: 't' },
  detach: { type: 'boolean', char: 'd' },
  env: { type: 'option', char: 'e', multiple: true },
  'env-file': { type: 'option', multiple: true },
  user: { type: 'option', char: 'u' },
  workdir: { type: 'option', char: 'w' },
  privileged: { type: 'boolean' },
  'detach-keys': { type: 'option' },
};

/** Flags, then positionals (the first one ends the flags); undefined for anything unusual. */
export function parseSimple(argv: string[], defs: Record<string, FlagDefinition>): { flags: Record<string, unknown>; positionals: string[] } | undefined {
  const flags: Record<string, unknown> = {};
  const byChar = new Map(Object.entries(defs).flatMap(([name, def]) => (def.char ? [[def.char, name] as const] : [])));
  const set = (name: string, value?: string): boolean => {
    const def = defs[name];
    if (def.type === 'boolean') {
      flags[name] = true;
      return value === undefined;
    }
    if (value === undefined || value.startsWith('-') || (def.options && !def.options.includes(value))) return false;
    if (!def.multiple && name in flags) return false;
    flags[name] = def.multiple ? [...((flags[name] as string[] | undefined) ?? []), value] : value;
    return true;
  };
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--' || token === '-') return undefined;
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      const name = token.slice(2, eq < 0 ? undefined : eq);
      if (!Object.hasOwn(defs, name)) return undefined;
      const value = eq >= 0 ? token.slice(eq + 1) : defs[name].type === 'boolean' ? undefined : argv[++i];
      if (!set(name, value)) return undefined;
    } else if (token.startsWith('-')) {
      for (let c = 1; c < token.length; c++) {
        const name = byChar.get(token[c]);
        if (name === undefined) return undefined;
        if (defs[name].type === 'boolean') {
          set(name);
          continue;
        }
        const inline = token.slice(c + 1);
        if (inline.startsWith('=') || !set(name, inline !== '' ? inline : argv[++i])) return undefined;
        break;
      }
    } else {
      for (const [name, def] of Object.entries(defs)) if (def.type === 'boolean') flags[name] ??= false;
      return { flags, positionals: argv.slice(i) };
    }
  }
  return undefined;
}

/**
 * The exec bundle's entry: runs `[GLOBAL FLAGS] exec|container exec ...` when its line is a
 * plain one; false leaves the line to the full CLI (src/cli/main.ts).
 */
export async function fastMain(argv: string[]): Promise<boolean> {
  try {
    const args = liftLeadingGlobals(argv);
    const execAt = args[0] === 'exec' ? 1 : args[0] === 'container' && args[1] === 'exec' ? 2 : 0;
    return execAt > 0 && (await fastExec(args.slice(execAt)));
  } catch (err) {
    process.stderr.write(`Error: ${(err as Error).message.split('\n')[0]}\n`);
    process.exitCode = EXIT_ENGINE;
    return true;
  }
}

/** Runs `exec ARGS` (the words after `exec`) when its line is a plain one; false leaves it to oclif. */
async function fastExec(args: string[]): Promise<boolean> {
  const parsed = parseSimple(args, { ...globalFlagShapes, ...execFlagShapes });
  if (!parsed || parsed.positionals.length < 2) return false;
  const flags = parsed.flags as unknown as ExecFlags & { root?: string; runroot?: string };
  try {
    process.exitCode = await runExec(() => openEngineFor(flags), flags, parsed.positionals[0], parsed.positionals.slice(1));
  } catch (e) {
    if (!isTspodError(e)) throw e;
    reportError(e);
  }
  return true;
}
