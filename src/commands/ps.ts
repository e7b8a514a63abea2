import { Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { listContainers } from '../core/containers/list.js';
import { PS_HEADERS, PS_TABLE } from '../core/containers/view.js';
import { renderFormat } from '../core/template/index.js';

export default class Ps extends TspodCommand {
  static override description = 'List containers (running ones unless -a)';
  static override aliases = ['container:ls', 'container:list', 'container:ps'];
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'Show all containers (default shows just running)' }),
    quiet: Flags.boolean({ char: 'q', description: 'Only display container IDs' }),
    latest: Flags.boolean({ char: 'l', description: 'Show the latest created container (includes all states)' }),
    last: Flags.integer({ char: 'n', description: 'Show n last created containers (includes all states)' }),
    'no-trunc': Flags.boolean({ description: "Don't truncate output" }),
    size: Flags.boolean({ char: 's', description: 'Display total file sizes' }),
    filter: Flags.string({ char: 'f', description: 'Filter output: status=, name=, label=, ancestor=, exited=, id=, restart-policy=', multiple: true }),
    format: Flags.string({ description: 'Format output with a Go template, table TEMPLATE, or json' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Ps);
    const rows = await listContainers(await this.engine(flags), {
      all: flags.all,
      latest: flags.latest,
      last: flags.last,
      noTrunc: flags['no-trunc'],
      size: flags.size,
      filters: flags.filter ?? [],
    });
    if (flags.quiet) {
      for (const row of rows) this.log(row.ID);
      return;
    }
    const defaultTable = flags.size ? `${PS_TABLE}\t{{.Size}}` : PS_TABLE;
    process.stdout.write(renderFormat(flags.format, rows, { defaultTable, headers: PS_HEADERS }));
  }
}
