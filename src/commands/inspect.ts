import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { inspectImages } from '../core/image-view.js';
import { renderInspect } from '../core/template/index.js';

export default class Inspect extends TspodCommand {
  static override description = 'Display detailed information on images (containers arrive with the container commands)';
  static override strict = false;
  static override args = { name: Args.string({ description: 'IMAGE (name, ID or digest), several allowed', required: true }) };
  static override flags = {
    format: Flags.string({ char: 'f', description: 'Format the output with a Go template' }),
    type: Flags.string({ description: 'Only look for this type of object', options: ['image'] }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Inspect);
    const { found, error } = inspectImages(await this.engine(flags), argv as string[]);
    if (found.length || !error) process.stdout.write(renderInspect(flags.format, found));
    if (error) throw error;
  }
}
