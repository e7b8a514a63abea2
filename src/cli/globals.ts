/**
 * Global options. Docker users put them before the command (`tspod --root X images`), oclif
 * only knows flags after it, so main() lifts leading ones out of argv and every command also
 * accepts them after its name.
 */
import { Flags } from '@oclif/core';

export const globalFlags = {
  root: Flags.string({ description: 'Storage root directory (images, layers, containers)', helpGroup: 'GLOBAL' }),
  runroot: Flags.string({ description: 'Run state directory', helpGroup: 'GLOBAL' }),
  'log-level': Flags.string({
    description: 'Log messages at and above this level',
    options: ['debug', 'info', 'warn', 'error'],
    helpGroup: 'GLOBAL',
  }),
};

export type GlobalName = keyof typeof globalFlags;

const leading: Partial<Record<GlobalName, string>> = {};

/** Removes global flags that precede the command name and remembers them. */
export function liftLeadingGlobals(argv: string[]): string[] {
  let i = 0;
  while (i < argv.length && argv[i].startsWith('--')) {
    const [flag, inline] = argv[i].slice(2).split(/=(.*)/s, 2);
    if (!(flag in globalFlags)) break;
    const value = inline ?? argv[i + 1];
    if (value === undefined) break;
    leading[flag as GlobalName] = value;
    i += inline === undefined ? 2 : 1;
  }
  return argv.slice(i);
}

export function leadingGlobal(name: GlobalName): string | undefined {
  return leading[name];
}
