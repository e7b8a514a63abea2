import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { listImages } from '../core/image-view.js';
import { renderFormat } from '../core/template/index.js';

const HEADERS = { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', CreatedSince: 'CREATED', Size: 'SIZE', Digest: 'DIGEST' };

export default class Images extends TspodCommand {
  static override description = 'List images';
  static override aliases = ['image:ls', 'image:list'];
  static override examples = ['<%= config.bin %> images --filter dangling=true', '<%= config.bin %> images --format "{{.Repository}}:{{.Tag}}"'];
  static override args = { reference: Args.string({ description: 'Show only images matching REPOSITORY[:TAG] (wildcards allowed)' }) };
  static override flags = {
    all: Flags.boolean({ char: 'a', description: 'Show all images (tspod keeps no intermediate images, so the same as the default)' }),
    quiet: Flags.boolean({ char: 'q', description: 'Only show image IDs' }),
    digests: Flags.boolean({ description: 'Show digests' }),
    'no-trunc': Flags.boolean({ description: "Don't truncate output" }),
    filter: Flags.string({ char: 'f', description: 'Filter output: dangling=true|false, reference=PATTERN, label=KEY[=VALUE]', multiple: true }),
    format: Flags.string({ description: 'Format output with a Go template, table TEMPLATE, or json' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Images);
    const engine = await this.engine(flags);
    const filters = [...(flags.filter ?? []), ...(args.reference ? [`reference=${args.reference}`] : [])];
    const rows = listImages(engine, engine.store.read(), { all: flags.all, noTrunc: flags['no-trunc'], filters });
    if (flags.quiet) {
      for (const id of new Set(rows.map((r) => r.ID))) this.log(id);
      return;
    }
    const digest = flags.digests ? '\t{{.Digest}}' : '';
    const defaultTable = `table {{.Repository}}\t{{.Tag}}${digest}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}`;
    process.stdout.write(renderFormat(flags.format, rows, { defaultTable, headers: HEADERS }));
  }
}
