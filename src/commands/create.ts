import { Args } from '@oclif/core';
import { existsSync, writeFileSync } from 'node:fs';
import { TspodCommand } from '../cli/base.js';
import { containerFlags, createOptionsFrom } from '../cli/container-flags.js';
import { createContainer } from '../core/containers/create.js';
import { TspodError } from '../core/errors.js';
import { progressFor } from '../core/progress.js';

export default class Create extends TspodCommand {
  static override description = 'Create a new container (start it with tspod start)';
  static override aliases = ['container:create'];
  static override ownPositionals = 1;
  static override args = { image: Args.string({ description: 'IMAGE [COMMAND [ARG...]]', required: true }) };
  static override flags = containerFlags;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Create);
    if (flags.cidfile && existsSync(flags.cidfile)) {
      throw new TspodError(`container ID file ${flags.cidfile} exists`, 'make sure the other container is not running, or delete the file');
    }
    const engine = await this.engine(flags);
    const record = await createContainer(engine, createOptionsFrom(flags, args.image, this.containerArgs, progressFor(this.out, flags.quiet)));
    if (flags.cidfile) writeFileSync(flags.cidfile, record.id);
    this.log(record.id);
  }
}
