/**
 * The store and error reporting of the command line, shared by oclif's commands (base.ts) and
 * the exec fast path (fast-exec.ts), which runs from a bundle without oclif.
 */
import type { TspodError } from '../core/errors.js';
import type { Engine } from '../core/engine.js';
import { resolvePaths, type StorePaths } from '../store/paths.js';
import { leadingGlobal } from './globals.js';

/** Store paths from --root/--runroot, wherever on the line they were given. */
export function storePathsFor(flags: { root?: string; runroot?: string }): StorePaths {
  return resolvePaths({
    root: flags.root ?? leadingGlobal('root'),
    runroot: flags.runroot ?? leadingGlobal('runroot'),
  });
}

/** The engine over the store chosen by --root/--runroot. */
export async function openEngineFor(flags: { root?: string; runroot?: string }): Promise<Engine> {
  // Loaded on demand: commands like `version` never touch the store.
  const { openEngine } = await import('../core/engine.js');
  return openEngine(storePathsFor(flags));
}

/** A user's error as the CLI shows it: one "Error: " line each, and its exit code. */
export function reportError(err: TspodError): void {
  for (const line of err.line.split('\n')) process.stderr.write(`Error: ${line}\n`);
  process.exitCode = err.exitCode;
}
