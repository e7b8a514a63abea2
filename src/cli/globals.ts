/**
 * Global options. Docker users put them before the command (`tspod --root X images`), oclif
 * only knows flags after it, so main() lifts leading ones out of argv and every command also
 * accepts them after its name. Here is what the command line needs to know of each: it takes a
 * value; oclif's definitions (descriptions, the help group) are base.ts's globalFlags. No oclif
 * here: the exec fast path's bundle has none.
 */
export const globalFlagShapes = {
  root: { type: 'option' },
  runroot: { type: 'option' },
  'log-level': { type: 'option', options: ['debug', 'info', 'warn', 'error'] },
} as const;

export type GlobalName = keyof typeof globalFlagShapes;

const leading: Partial<Record<GlobalName, string>> = {};

/** Removes global flags that precede the command name and remembers them. */
export function liftLeadingGlobals(argv: string[]): string[] {
  let i = 0;
  while (i < argv.length && argv[i].startsWith('--')) {
    const [flag, inline] = argv[i].slice(2).split(/=(.*)/s, 2);
    if (!(flag in globalFlagShapes)) break;
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
