import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { SAVE_FORMATS, saveImages } from '../core/save.js';

export default class Save extends TspodCommand {
  static override description = 'Save one or more images to a tar archive (streamed to stdout by default)';
  static override examples = ['<%= config.bin %> save -o busybox.tar busybox', '<%= config.bin %> save busybox debian | gzip > images.tar.gz', '<%= config.bin %> save --format oci-archive -o app.tar app:1.0'];
  static override aliases = ['image:save'];
  static override strict = false;
  static override args = { image: Args.string({ description: 'IMAGE (name or ID), several allowed: one archive holds them all', required: true }) };
  static override flags = {
    output: Flags.string({ char: 'o', description: 'Write to a file (a directory for oci-dir) instead of stdout' }),
    format: Flags.string({ description: 'Archive format', options: [...SAVE_FORMATS], default: 'docker-archive' }),
    'multi-image-archive': Flags.boolean({ char: 'm', description: 'Accepted for Podman compatibility: a docker-archive always holds every image given' }),
    quiet: Flags.boolean({ char: 'q', description: 'Suppress the output (save prints nothing but the archive)' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Save);
    await saveImages(await this.engine(flags), argv as string[], {
      format: flags.format as (typeof SAVE_FORMATS)[number],
      output: flags.output,
      stdout: process.stdout,
    });
  }
}
