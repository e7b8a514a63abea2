/**
 * Docker's argument grammar, applied before oclif parses: for commands that run something
 * (run, create, exec), flags end at the first positional argument, and everything after the
 * image (or container) belongs to the container: `run debian ls -la` must not read -la.
 */
export interface FlagShape {
  /** true when the flag takes a value (oclif type "option") */
  takesValue: boolean;
}

export interface FlagTable {
  long: Map<string, FlagShape>;
  short: Map<string, FlagShape>;
}

export function flagTable(flags: Record<string, { type: string; char?: string; aliases?: string[] }>): FlagTable {
  const table: FlagTable = { long: new Map(), short: new Map() };
  for (const [name, def] of Object.entries(flags)) {
    const shape = { takesValue: def.type === 'option' };
    table.long.set(name, shape);
    for (const alias of def.aliases ?? []) table.long.set(alias, shape);
    if (def.char) table.short.set(def.char, shape);
  }
  table.long.set('help', { takesValue: false });
  return table;
}

/**
 * Splits argv into the part for tspod (flags and the first `positionals` positional arguments)
 * and the rest, which belongs to the container. Unknown flags are left for oclif to report.
 */
export function splitAtPositionals(argv: string[], table: FlagTable, positionals = 1): { own: string[]; rest: string[] } {
  let seen = 0;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      const end = Math.min(argv.length, i + 1 + positionals - seen);
      return { own: argv.slice(0, end), rest: argv.slice(end) };
    }
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      const shape = table.long.get(token.slice(2, eq === -1 ? undefined : eq));
      if (shape?.takesValue && eq === -1) i++;
      continue;
    }
    if (token.startsWith('-') && token !== '-') {
      for (let c = 1; c < token.length; c++) {
        const shape = table.short.get(token[c]);
        if (shape?.takesValue) {
          if (c === token.length - 1) i++;
          break;
        }
      }
      continue;
    }
    seen++;
    if (seen === positionals) return { own: argv.slice(0, i + 1), rest: argv.slice(i + 1) };
  }
  return { own: argv, rest: [] };
}
