import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { absoluteLocalPath, ranInNamespace } from '../cli/in-namespace.js';
import { exportContainer, exportContainerToFile } from '../core/containers/export.js';
import { TspodError } from '../core/errors.js';

export default class Export extends TspodCommand {
  static override description = `Export a container's filesystem as a tar archive

The whole root filesystem (volumes excluded), with the owners and modes seen inside the container, to stdout or to the file given with -o (written completely or not at all). Works on running and stopped containers.`;

  static override aliases = ['container:export'];
  static override args = { container: Args.string({ description: 'CONTAINER', required: true }) };
  static override flags = {
    output: Flags.string({ char: 'o', description: 'Write to a file, instead of STDOUT' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Export);
    if (flags.output === undefined && process.stdout.isTTY) throw new TspodError('cowardly refusing to save to a terminal', 'use the -o flag or redirect');
    const output = flags.output === undefined ? undefined : absoluteLocalPath(flags.output);
    const engine = await this.engine(flags);
    if (await ranInNamespace(engine, ['export', ...(output ? ['-o', output] : []), '--', args.container])) return;
    if (output) await exportContainerToFile(engine, args.container, output);
    else await exportContainer(engine, args.container, process.stdout);
  }
}
