import { Flags } from '@oclif/core';
import { TspodCommand } from '../../cli/base.js';
import { confirm } from '../../cli/confirm.js';
import { pruneContainers } from '../../core/containers/control.js';
import { parsePruneFilters } from '../../core/prune-filters.js';

export default class ContainerPrune extends TspodCommand {
  static override description = 'Remove all stopped containers';
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'Do not prompt for confirmation' }),
    filter: Flags.string({ description: 'Only containers created before until=TIMESTAMP|DURATION, with label=KEY[=VALUE], without label!=KEY[=VALUE]', multiple: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ContainerPrune);
    const filters = flags.filter ?? [];
    // Bad filters are reported before the prompt.
    parsePruneFilters(filters);
    if (!flags.force) await confirm('WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ');
    const removed = await pruneContainers(await this.engine(flags), filters);
    if (removed.length) this.log(['Deleted Containers:', ...removed, ''].join('\n'));
  }
}
