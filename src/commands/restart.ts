import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { restartContainer } from '../core/containers/control.js';
import { forEachInput } from '../core/errors.js';

export default class Restart extends TspodCommand {
  static override description = 'Restart one or more containers';
  static override aliases = ['container:restart'];
  static override strict = false;
  static override args = { container: Args.string({ description: 'CONTAINER, several allowed', required: true }) };
  static override flags = {
    time: Flags.integer({ char: 't', description: 'Seconds to wait for stop before killing the container', min: 0 }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Restart);
    const engine = await this.engine(flags);
    await forEachInput(argv as string[], async (name) => {
      await restartContainer(engine, name, flags.time);
      this.log(name);
    });
  }
}
