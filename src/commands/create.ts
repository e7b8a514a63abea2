import { Args } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { containerFlags, createOptionsFrom, withCidFile } from '../cli/container-flags.js';
import { createContainer } from '../core/containers/create.js';
import { progressFor } from '../core/progress.js';

export default class Create extends TspodCommand {
  static override description = 'Create a new container (start it with tspod start)';
  static override aliases = ['container:create'];
  static override ownPositionals = 1;
  static override args = { image: Args.string({ description: 'IMAGE [COMMAND [ARG...]]', required: true }) };
  static override flags = containerFlags;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Create);
    const engine = await this.engine(flags);
    const options = createOptionsFrom(flags, args.image, this.containerArgs, progressFor(this.out, flags.quiet));
    const record = await withCidFile(flags.cidfile, () => createContainer(engine, options));
    this.log(record.id);
  }
}
