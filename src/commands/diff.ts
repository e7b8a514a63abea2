import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { ranInNamespace } from '../cli/in-namespace.js';
import { containerChanges, type Change } from '../core/containers/diff.js';
import { TspodError } from '../core/errors.js';

/** Podman's `diff --format json`. */
function asJson(changes: Change[]): string {
  const pick = (kind: Change['kind']) => changes.filter((c) => c.kind === kind).map((c) => c.path);
  const groups = { changed: pick('C'), added: pick('A'), deleted: pick('D') };
  return JSON.stringify(Object.fromEntries(Object.entries(groups).filter(([, list]) => list.length > 0)), null, 4);
}

export default class Diff extends TspodCommand {
  static override description = `Inspect changes to files or directories on a container's filesystem

One line per change, sorted by path: A (added), C (changed, including every directory whose contents changed) or D (deleted).`;

  static override aliases = ['container:diff'];
  static override args = { container: Args.string({ description: 'CONTAINER', required: true }) };
  static override flags = {
    format: Flags.string({ description: 'Output format: "json" (the default is one "KIND PATH" line per change)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Diff);
    if (flags.format !== undefined && flags.format !== 'json') throw new TspodError(`invalid --format "${flags.format}"`, 'only "json" is supported');
    const engine = await this.engine(flags);
    if (await ranInNamespace(engine, ['diff', ...(flags.format ? ['--format', flags.format] : []), '--', args.container])) return;
    const changes = await containerChanges(engine, args.container);
    if (flags.format === 'json') this.log(asJson(changes));
    else for (const c of changes) this.log(`${c.kind} ${c.path}`);
  }
}
