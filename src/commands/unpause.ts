import { Args } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { unpauseContainers } from '../core/containers/pause.js';

export default class Unpause extends TspodCommand {
  static override description = `Unpause all processes within one or more containers

Undoes pause: as root the cgroup freezer thaws the container; rootless (cgroup v1, no freezer) its processes are sent SIGCONT.`;

  static override aliases = ['container:unpause'];
  static override strict = false;
  static override args = { container: Args.string({ description: 'CONTAINER, several allowed', required: true }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Unpause);
    await unpauseContainers(await this.engine(flags), argv as string[], (name) => this.log(name));
  }
}
