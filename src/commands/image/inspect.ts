import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../../cli/base.js';
import { inspectImages } from '../../core/image-view.js';
import { renderInspect } from '../../core/template/index.js';

export default class ImageInspect extends TspodCommand {
  static override description = 'Display detailed information on one or more images';
  static override strict = false;
  static override args = { image: Args.string({ description: 'IMAGE (name, ID or digest), several allowed', required: true }) };
  static override flags = {
    format: Flags.string({ char: 'f', description: "Format the output with a Go template, e.g. '{{json .RootFS.Layers}}'" }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ImageInspect);
    const { found, error } = inspectImages(await this.engine(flags), argv as string[]);
    if (found.length || !error) process.stdout.write(renderInspect(flags.format, found));
    if (error) throw error;
  }
}
