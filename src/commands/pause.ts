import { Args } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { pauseContainers } from '../core/containers/pause.js';

export default class Pause extends TspodCommand {
  static override description = `Pause all processes within one or more containers

As root, tspod uses the cgroup freezer (the runtime's pause): the processes are frozen without noticing. Rootless, cgroup v1 gives the user no freezer, so every process in the container's pid namespace is sent SIGSTOP instead (unpause sends SIGCONT); a process watching its children (a shell, an init) can see them stop. Either way ps shows "Up ... (Paused)" and inspect State.Status "paused".`;

  static override aliases = ['container:pause'];
  static override strict = false;
  static override args = { container: Args.string({ description: 'CONTAINER, several allowed', required: true }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Pause);
    await pauseContainers(await this.engine(flags), argv as string[], (name) => this.log(name));
  }
}
