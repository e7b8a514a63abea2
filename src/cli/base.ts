/**
 * The base of every tspod command: global flags, Docker's argument grammar, and errors printed
 * as one line with Docker's exit codes.
 */
import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { EXIT_ENGINE, isTspodError } from '../core/errors.js';
import type { Engine } from '../core/engine.js';
import type { StorePaths } from '../store/paths.js';
import { flagTable, splitAtPositionals } from './argv.js';
import { globalFlagShapes, leadingGlobal } from './globals.js';
import { openEngineFor, reportError, storePathsFor } from './store-access.js';

export type Output = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

/** The global options (globals.ts), as oclif defines them for every command. */
export const globalFlags = {
  root: Flags.string({ description: 'Storage root directory (images, layers, containers)', helpGroup: 'GLOBAL' }),
  runroot: Flags.string({ description: 'Run state directory', helpGroup: 'GLOBAL' }),
  'log-level': Flags.string({
    description: 'Log messages at and above this level',
    options: [...globalFlagShapes['log-level'].options],
    helpGroup: 'GLOBAL',
  }),
};

/**
 * Docker and Podman accept `--tls-verify=false` (and `-H=false`) for boolean flags; oclif wants
 * `--no-tls-verify` (flags declared with allowNo). A flag without a `--no-` form defaults to
 * false, so `=false` is the same as leaving it out.
 */
function booleanWithValue(token: string, flags: Record<string, Interfaces.Flag<unknown>>): string[] {
  const m = /^(?:--([\w-]+)|-(\w))=(true|false)$/.exec(token);
  const name = m && (m[1] ?? Object.keys(flags).find((key) => flags[key]?.char === m[2]));
  const flag = name ? flags[name] : undefined;
  if (!m || !flag || flag.type !== 'boolean') return [token];
  if (m[3] === 'true') return [`--${name}`];
  return (flag as { allowNo?: boolean }).allowNo ? [`--no-${name}`] : [];
}

export abstract class TspodCommand extends Command {
  static baseFlags = globalFlags;

  /**
   * For commands that run something (run, create, exec): the number of positional arguments
   * that are tspod's; everything after them is the container's, flags included.
   */
  static ownPositionals = 0;

  /** The arguments after the command's own positionals, when ownPositionals is set. */
  protected containerArgs: string[] = [];

  protected get out(): Output {
    return { stdout: process.stdout, stderr: process.stderr };
  }

  override async init(): Promise<void> {
    await super.init();
    const ctor = this.ctor as typeof TspodCommand;
    const flags = { ...ctor.baseFlags, ...ctor.flags } as Record<string, Interfaces.Flag<unknown>>;
    // oclif lets a repeatable flag swallow the following positionals (`-v a:/b debian`).
    for (const flag of Object.values(flags)) {
      if (flag.type === 'option' && flag.multiple) (flag as { multipleNonGreedy?: boolean }).multipleNonGreedy = true;
    }
    if (ctor.ownPositionals > 0) {
      const { own, rest } = splitAtPositionals(this.argv, flagTable(flags), ctor.ownPositionals);
      this.argv = own;
      this.containerArgs = rest;
    }
    this.argv = this.argv.flatMap((token) => booleanWithValue(token, flags));
  }

  /** The engine over the store chosen by --root/--runroot. */
  protected async engine(flags: { root?: string; runroot?: string }): Promise<Engine> {
    return openEngineFor(flags);
  }

  /** Store paths from --root/--runroot, wherever on the line they were given. */
  protected storePaths(flags: { root?: string; runroot?: string }): StorePaths {
    return storePathsFor(flags);
  }

  override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    if (isTspodError(err)) {
      reportError(err);
      return;
    }
    if (err instanceof Errors.ExitError) throw err;
    // oclif's own parse errors: unknown flag, missing argument, bad option value
    if (err instanceof Errors.CLIError) {
      const first = err.message.split('\n')[0].replace(/\s+$/, '');
      process.stderr.write(`Error: ${first} (see 'tspod ${(this.id ?? '').replace(/:/g, ' ')} --help')\n`);
      process.exitCode = EXIT_ENGINE;
      return;
    }
    const debug = (this as unknown as { flags?: { 'log-level'?: string } }).flags?.['log-level'] === 'debug' || leadingGlobal('log-level') === 'debug';
    process.stderr.write(`Error: ${err.message}\n${debug ? `${err.stack}\n` : ''}`);
    process.exitCode = err.exitCode ?? EXIT_ENGINE;
  }
}
