import { Args } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { waitContainer } from '../core/containers/control.js';
import { forEachInput } from '../core/errors.js';

export default class Wait extends TspodCommand {
  static override description = 'Block until one or more containers stop, then print their exit codes';
  static override aliases = ['container:wait'];
  static override strict = false;
  static override args = { container: Args.string({ description: 'CONTAINER, several allowed', required: true }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Wait);
    const engine = await this.engine(flags);
    await forEachInput(argv as string[], async (name) => {
      this.log(String(await waitContainer(engine, name)));
    });
  }
}
