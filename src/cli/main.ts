/** Entry point: Docker-style leading global flags, then oclif. */
import { Errors, flush, run, settings } from '@oclif/core';
import { EXIT_ENGINE } from '../core/errors.js';
import { liftLeadingGlobals } from './globals.js';

function versionShortcut(argv: string[]): string[] {
  return argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v') ? ['version'] : argv;
}

export async function main(argv: string[]): Promise<void> {
  // tspod runs from its build; with NODE_ENV=development or test, oclif would look for
  // TypeScript sources to run instead (loading the compiler).
  settings.enableAutoTranspile = false;
  try {
    // A plain exec line never gets here: bin/tspod runs it from the exec bundle (src/cli/fast-exec.ts).
    await run(versionShortcut(liftLeadingGlobals(argv)), import.meta.url);
    await flush();
  } catch (err) {
    if (err instanceof Errors.ExitError) {
      process.exitCode = err.oclif.exit;
      return;
    }
    const message = (err as Error).message.split('\n')[0];
    process.stderr.write(`Error: ${message.replace(/^command (\S+) not found$/, "unknown command \"$1\" (see 'tspod --help')")}\n`);
    process.exitCode = EXIT_ENGINE;
  }
}
