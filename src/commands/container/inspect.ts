import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../../cli/base.js';
import { printInspect } from '../../cli/inspect-output.js';

export default class ContainerInspect extends TspodCommand {
  static override description = 'Display detailed information on one or more containers';
  static override strict = false;
  static override args = { name: Args.string({ description: 'CONTAINER, several allowed', required: true }) };
  static override flags = {
    format: Flags.string({ char: 'f', description: 'Format the output with a Go template' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ContainerInspect);
    await printInspect(await this.engine(flags), argv as string[], flags.format, 'container');
  }
}
