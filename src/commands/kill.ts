import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { killContainer } from '../core/containers/control.js';
import { forEachInput } from '../core/errors.js';

export default class Kill extends TspodCommand {
  static override description = 'Send a signal (default SIGKILL) to one or more running containers';
  static override aliases = ['container:kill'];
  static override strict = false;
  static override args = { container: Args.string({ description: 'CONTAINER, several allowed', required: true }) };
  static override flags = {
    signal: Flags.string({ char: 's', description: 'Signal to send', default: 'KILL' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Kill);
    const engine = await this.engine(flags);
    await forEachInput(argv as string[], async (name) => {
      await killContainer(engine, name, flags.signal);
      this.log(name);
    });
  }
}
