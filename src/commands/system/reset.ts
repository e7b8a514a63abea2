import { Flags } from '@oclif/core';
import { TspodCommand } from '../../cli/base.js';
import { confirm } from '../../cli/confirm.js';
import { resetSystem } from '../../core/system-reset.js';

export default class SystemReset extends TspodCommand {
  static override description = [
    'Reset the store: stop and remove every container, remove every image and all state',
    '',
    'Everything inside the root and runroot directories goes (images, layers, containers, runtime state, events) and the rootless pause process is stopped; the directories stay, empty and usable. Configuration (registries.json, auth files) is kept.',
  ].join('\n');
  static override flags = {
    force: Flags.boolean({ char: 'f', description: 'Do not prompt for confirmation' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(SystemReset);
    const engine = await this.engine(flags);
    if (!flags.force) {
      await confirm(
        [
          'WARNING! This will remove:',
          '        - all containers',
          '        - all images',
          `        - everything in the graphRoot directory: "${engine.paths.root}"`,
          `        - everything in the runRoot directory: "${engine.paths.runroot}"`,
          'Are you sure you want to continue? [y/N] ',
        ].join('\n'),
      );
    }
    await resetSystem(engine);
  }
}
