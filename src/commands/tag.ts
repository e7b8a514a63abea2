import { Args } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { tagImage } from '../core/images.js';

export default class Tag extends TspodCommand {
  static override description = 'Give an image one or more additional names';
  static override aliases = ['image:tag'];
  static override strict = false;
  static override args = {
    source: Args.string({ description: 'IMAGE[:TAG] or ID', required: true }),
    target: Args.string({ description: 'TARGET_IMAGE[:TAG] (several allowed)', required: true }),
  };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(Tag);
    const targets = (argv as string[]).slice(1);
    await tagImage(await this.engine(flags), args.source, targets);
  }
}
