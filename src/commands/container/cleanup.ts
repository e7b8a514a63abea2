import { Args } from '@oclif/core';
import { TspodCommand } from '../../cli/base.js';
import { cleanupContainer, restartAfterExit } from '../../core/containers/exit.js';

export default class ContainerCleanup extends TspodCommand {
  static override description = "Release an exited container's mount, runtime state and network, and apply --rm and --restart (conmon runs this)";
  static override hidden = true;
  static override args = { container: Args.string({ description: 'CONTAINER', required: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ContainerCleanup);
    const engine = await this.engine(flags);
    if ((await cleanupContainer(engine, args.container)) === 'restart') await restartAfterExit(engine, args.container);
  }
}
