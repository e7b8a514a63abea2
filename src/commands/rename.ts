import { Args } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { renameContainer } from '../core/containers/control.js';

export default class Rename extends TspodCommand {
  static override description = 'Rename a container';
  static override aliases = ['container:rename'];
  static override args = {
    container: Args.string({ description: 'CONTAINER', required: true }),
    name: Args.string({ description: 'NEW_NAME', required: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Rename);
    await renameContainer(await this.engine(flags), args.container, args.name);
  }
}
