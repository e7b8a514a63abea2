import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { stopContainers } from '../core/containers/control.js';

export default class Stop extends TspodCommand {
  static override description = 'Stop one or more running containers (the stop signal, then SIGKILL after the timeout)';
  static override aliases = ['container:stop'];
  static override strict = false;
  static override args = { container: Args.string({ description: 'CONTAINER, several allowed', required: true }) };
  static override flags = {
    time: Flags.integer({ char: 't', description: 'Seconds to wait before killing the container (default: its stop timeout, 10)', min: 0 }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Stop);
    const engine = await this.engine(flags);
    await stopContainers(engine, argv as string[], flags.time, (name) => this.log(name));
  }
}
