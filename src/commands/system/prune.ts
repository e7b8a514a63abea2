import { Flags } from '@oclif/core';
import { TspodCommand } from '../../cli/base.js';
import { confirm } from '../../cli/confirm.js';
import { humanSize } from '../../core/humanize.js';
import { parsePruneFilters } from '../../core/prune-filters.js';
import { pruneSystem } from '../../core/system-prune.js';

export default class SystemPrune extends TspodCommand {
  static override description = [
    'Remove stopped containers and dangling images (with -a, every image no container uses)',
    '',
    'tspod has no networks, build cache or volumes: --volumes is accepted for Docker compatibility and removes nothing.',
  ].join('\n');
  static override examples = ['<%= config.bin %> system prune -f', '<%= config.bin %> system prune -a --filter until=24h'];
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'Remove all unused images, not just dangling ones' }),
    volumes: Flags.boolean({ description: 'Prune volumes too (tspod has none yet: nothing to remove)' }),
    force: Flags.boolean({ char: 'f', description: 'Do not prompt for confirmation' }),
    filter: Flags.string({ description: 'Only what was created before until=TIMESTAMP|DURATION, with label=KEY[=VALUE], without label!=KEY[=VALUE]', multiple: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(SystemPrune);
    const filters = flags.filter ?? [];
    // Bad filters are reported before the prompt.
    parsePruneFilters(filters);
    if (!flags.force) {
      const what = [
        '  - all stopped containers',
        flags.all ? '  - all images without at least one container associated to them' : '  - all dangling images',
        ...(flags.volumes ? ['  - all volumes not used by at least one container (tspod has none)'] : []),
      ];
      await confirm(['WARNING! This will remove:', ...what, '', 'Are you sure you want to continue? [y/N] '].join('\n'));
    }
    const result = await pruneSystem(await this.engine(flags), { all: flags.all, filters });
    if (result.containers.length) this.log(['Deleted Containers:', ...result.containers, ''].join('\n'));
    if (result.images.deleted.length) {
      this.log('Deleted Images:');
      for (const name of result.images.untagged) this.log(`untagged: ${name}`);
      for (const id of result.images.deleted) this.log(`deleted: ${id}`);
      this.log('');
    }
    this.log(`Total reclaimed space: ${humanSize(result.reclaimed)}`);
  }
}
