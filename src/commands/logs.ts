import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { containerLogs } from '../core/containers/logs.js';
import { TspodError } from '../core/errors.js';

export default class Logs extends TspodCommand {
  static override description = "Fetch a container's logs";
  static override aliases = ['container:logs'];
  static override args = { container: Args.string({ description: 'CONTAINER', required: true }) };
  static override flags = {
    follow: Flags.boolean({ char: 'f', description: 'Follow log output' }),
    tail: Flags.string({ char: 'n', description: 'Number of lines to show from the end of the logs ("all" for all)', default: 'all' }),
    since: Flags.string({ description: 'Show logs since a timestamp (2013-01-02T13:23:37Z) or a relative time (42m)' }),
    until: Flags.string({ description: 'Show logs before a timestamp or a relative time' }),
    timestamps: Flags.boolean({ char: 't', description: 'Show timestamps' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logs);
    const tail = flags.tail === 'all' ? undefined : Number(flags.tail);
    if (tail !== undefined && !Number.isInteger(tail)) throw new TspodError(`invalid --tail "${flags.tail}"`, 'give a number of lines or "all"');
    try {
      await containerLogs(await this.engine(flags), args.container, { follow: flags.follow, tail, since: flags.since, until: flags.until, timestamps: flags.timestamps }, this.out);
    } catch (e) {
      // The reader went away (`logs -f | head`): like Docker, stop quietly.
      if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
    }
  }
}
