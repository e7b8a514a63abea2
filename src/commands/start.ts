import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { attachStreams } from '../cli/attach-streams.js';
import { startAllContainers } from '../core/containers/control.js';
import { startAttached } from '../core/containers/run.js';
import { startContainer } from '../core/containers/start.js';
import { TspodError, forEachInput } from '../core/errors.js';

export default class Start extends TspodCommand {
  static override description = 'Start one or more stopped containers';
  static override aliases = ['container:start'];
  static override strict = false;
  static override args = { container: Args.string({ description: 'CONTAINER, several allowed' }) };
  static override flags = {
    attach: Flags.boolean({ char: 'a', description: "Attach STDOUT/STDERR and forward signals" }),
    interactive: Flags.boolean({ char: 'i', description: "Attach the container's STDIN" }),
    'detach-keys': Flags.string({ description: 'Override the key sequence for detaching a container' }),
    'sig-proxy': Flags.boolean({ description: 'Proxy received signals to the process (with -a)', default: true, allowNo: true }),
    all: Flags.boolean({ description: 'Start every container that is not running (unless-stopped ones stopped by the user excepted)' }),
    filter: Flags.string({ description: "With --all: only containers matching ps's filters, e.g. restart-policy=always", multiple: true }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Start);
    const names = argv as string[];
    if (flags.filter && !flags.all) throw new TspodError('--filter needs --all', 'give container names, or --all with filters');
    if (flags.all) {
      if (names.length) throw new TspodError('--all and container names cannot be used together', 'give either');
      if (flags.attach || flags.interactive) throw new TspodError('--all cannot attach', 'start several containers without -a/-i');
      await startAllContainers(await this.engine(flags), flags.filter ?? [], (id) => this.log(id));
      return;
    }
    if (!names.length) throw new TspodError('"tspod start" requires at least 1 argument', 'give CONTAINER names or IDs, or --all');
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
