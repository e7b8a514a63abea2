import { Flags } from '@oclif/core';
import { TspodCommand } from '../../cli/base.js';
import { confirm } from '../../cli/confirm.js';
import { pruneContainers } from '../../core/containers/control.js';

export default class ContainerPrune extends TspodCommand {
  static override description = 'Remove all stopped containers';
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'Do not prompt for confirmation' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ContainerPrune);
    if (!flags.force) await confirm('WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ');
    const removed = await pruneContainers(await this.engine(flags));
    if (removed.length) this.log(['Deleted Containers:', ...removed, ''].join('\n'));
  }
}
