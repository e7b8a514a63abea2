import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { printInspect } from '../cli/inspect-output.js';
import type { InspectType } from '../core/inspect.js';

export default class Inspect extends TspodCommand {
  static override description = 'Display detailed information on containers and images';
  static override strict = false;
  static override args = { name: Args.string({ description: 'CONTAINER or IMAGE, several allowed', required: true }) };
  static override flags = {
    format: Flags.string({ char: 'f', description: "Format the output with a Go template, e.g. '{{.State.Status}}'" }),
    type: Flags.string({ description: 'Only look for this type of object', options: ['container', 'image'] }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Inspect);
    await printInspect(await this.engine(flags), argv as string[], flags.format, flags.type as InspectType);
  }
}
