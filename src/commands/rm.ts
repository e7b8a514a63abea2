import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { removeContainers } from '../core/containers/control.js';
import { TspodError } from '../core/errors.js';

export default class Rm extends TspodCommand {
  static override description = 'Remove one or more containers';
  static override aliases = ['container:rm', 'container:remove'];
  static override strict = false;
  static override args = { container: Args.string({ description: 'CONTAINER, several allowed' }) };
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'Force the removal of a running container (uses SIGKILL)' }),
    volumes: Flags.boolean({ char: 'v', description: 'Remove anonymous volumes associated with the container' }),
    all: Flags.boolean({ char: 'a', description: 'Remove all containers' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Rm);
    const engine = await this.engine(flags);
    const names = flags.all ? engine.containers.read().containers.map((c) => c.id) : (argv as string[]);
    if (!names.length && !flags.all) throw new TspodError('"tspod rm" requires at least 1 argument', 'give CONTAINER names or IDs, or --all');
    await removeContainers(engine, names, { force: flags.force, volumes: flags.volumes }, (name) => this.log(name));
  }
}
