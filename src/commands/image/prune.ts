import { Flags } from '@oclif/core';
import { TspodCommand } from '../../cli/base.js';
import { confirm } from '../../cli/confirm.js';
import { humanSize } from '../../core/humanize.js';
import { pruneImages } from '../../core/images.js';
import { parsePruneFilters } from '../../core/prune-filters.js';

export default class ImagePrune extends TspodCommand {
  static override description = 'Remove dangling images (with -a, every image)';
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'Remove all unused images, not just dangling ones' }),
    force: Flags.boolean({ char: 'f', description: 'Do not prompt for confirmation' }),
    filter: Flags.string({ description: 'Only images created before until=TIMESTAMP|DURATION, with label=KEY[=VALUE], without label!=KEY[=VALUE]', multiple: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ImagePrune);
    const filters = flags.filter ?? [];
    // Bad filters are reported before the prompt.
    parsePruneFilters(filters);
    const what = flags.all ? 'all images without at least one container associated to them' : 'all dangling images';
    if (!flags.force) await confirm(`WARNING! This will remove ${what}.\nAre you sure you want to continue? [y/N] `);
    const result = await pruneImages(await this.engine(flags), { all: flags.all, filters });
    if (result.deleted.length) {
      this.log('Deleted Images:');
      for (const name of result.untagged) this.log(`untagged: ${name}`);
      for (const id of result.deleted) this.log(`deleted: ${id}`);
      this.log('');
    }
    this.log(`Total reclaimed space: ${humanSize(result.reclaimed)}`);
  }
}
