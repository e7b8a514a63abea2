import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { removeImages } from '../core/images.js';

export default class Rmi extends TspodCommand {
  static override description = 'Remove one or more images (a name untags; the image goes with its last name)';
  static override aliases = ['image:rm', 'image:remove'];
  static override strict = false;
  static override args = { image: Args.string({ description: 'IMAGE (name, ID or digest), several allowed', required: true }) };
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'Remove an image referenced by several repositories' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Rmi);
    const result = await removeImages(await this.engine(flags), argv as string[], { force: flags.force });
    for (const name of result.untagged) this.log(`Untagged: ${name}`);
    for (const id of result.deleted) this.log(`Deleted: ${id}`);
    if (result.error) throw result.error;
  }
}
