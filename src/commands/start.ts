import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { attachStreams } from '../cli/attach-streams.js';
import { startAttached } from '../core/containers/run.js';
import { startContainer } from '../core/containers/start.js';
import { TspodError, forEachInput } from '../core/errors.js';

export default class Start extends TspodCommand {
  static override description = 'Start one or more stopped containers';
  static override aliases = ['container:start'];
  static override strict = false;
  static override args = { container: Args.string({ description: 'CONTAINER, several allowed', required: true }) };
  static override flags = {
    attach: Flags.boolean({ char: 'a', description: "Attach STDOUT/STDERR and forward signals" }),
    interactive: Flags.boolean({ char: 'i', description: "Attach the container's STDIN" }),
    'detach-keys': Flags.string({ description: 'Override the key sequence for detaching a container' }),
    'sig-proxy': Flags.boolean({ description: 'Proxy received signals to the process (with -a)', default: true, allowNo: true }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Start);
    const names = argv as string[];
    const engine = await this.engine(flags);
    if (flags.attach || flags.interactive) {
      if (names.length > 1) throw new TspodError('you cannot start and attach several containers at once');
      const result = await startAttached(engine, names[0], {
        streams: attachStreams(undefined, flags.interactive),
        sigProxy: flags['sig-proxy'],
        detachKeys: flags['detach-keys'],
      });
      if (!result.detached) process.exitCode = result.exitCode;
      return;
    }
    await forEachInput(names, async (name) => {
      await startContainer(engine, name);
      this.log(name);
    });
  }
}
