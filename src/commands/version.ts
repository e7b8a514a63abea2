import { Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';

export default class Version extends TspodCommand {
  static override description = 'Show the versions of tspod and of the helpers it uses';
  static override flags = {
    format: Flags.string({ char: 'f', description: 'Format the output with a Go template, or json' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Version);
    this.log(`tspod ${this.config.version} ${flags.format ?? ''}`);
  }
}
