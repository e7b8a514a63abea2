import { Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { loadImages } from '../core/load.js';

export default class Load extends TspodCommand {
  static override description = 'Load images from a docker-archive or oci-archive (plain, gzip or zstd), from a file or stdin';
  static override examples = ['<%= config.bin %> load -i busybox.tar', 'gunzip -c images.tar.gz | <%= config.bin %> load'];
  static override aliases = ['image:load'];
  static override flags = {
    input: Flags.string({ char: 'i', description: 'Read from an archive file instead of stdin' }),
    quiet: Flags.boolean({ char: 'q', description: 'Suppress the load output (the names loaded are still printed)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Load);
    const results = await loadImages(await this.engine(flags), { input: flags.input, stdin: process.stdin });
    for (const { id, names } of results) {
      if (names.length) for (const name of names) this.log(`Loaded image: ${name}`);
      else this.log(`Loaded image ID: ${id}`);
    }
  }
}
