import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { imageHistory } from '../core/history.js';
import { ellipsis, humanSize, timeAgo } from '../core/humanize.js';
import { shortId } from '../core/images.js';
import { renderFormat } from '../core/template/index.js';

const HEADERS = { ID: 'IMAGE', Created: 'CREATED', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT', Tags: 'TAGS' };

/** Docker's width of a truncated CREATED BY. */
const CREATED_BY_WIDTH = 45;

/** RFC 3339 to the second, as Docker prints times with --human=false. */
function rfc3339(iso: string | undefined): string {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 'N/A' : new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
}

export default class History extends TspodCommand {
  static override description = 'Show the history of an image (newest first; layers are listed as the config records them)';
  static override aliases = ['image:history'];
  static override examples = ['<%= config.bin %> history debian', '<%= config.bin %> history --format "{{.ID}} {{.Size}} {{.CreatedBy}}" --no-trunc debian'];
  static override args = { image: Args.string({ description: 'IMAGE (name, ID or digest)', required: true }) };
  static override flags = {
    human: Flags.boolean({ char: 'H', description: 'Print sizes and dates in human-readable format (-H=false: bytes and RFC 3339)', default: true, allowNo: true }),
    'no-trunc': Flags.boolean({ description: "Don't truncate output" }),
    quiet: Flags.boolean({ char: 'q', description: 'Only show image IDs' }),
    format: Flags.string({ description: 'Format output with a Go template (.ID .Created .CreatedSince .CreatedAt .CreatedBy .Size .Comment .Tags), table TEMPLATE, or json' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(History);
    const entries = imageHistory(await this.engine(flags), args.image);
    const trunc = !flags['no-trunc'];
    const rows = entries.map((e) => {
      const created = flags.human ? (e.created ? timeAgo(e.created) : 'N/A') : rfc3339(e.created);
      const createdBy = e.createdBy.replace(/\t/g, ' ');
      return {
        ID: e.id ? (trunc ? shortId(e.id) : e.id) : '<missing>',
        Created: created,
        CreatedSince: created,
        CreatedAt: rfc3339(e.created),
        CreatedBy: trunc ? ellipsis(createdBy, CREATED_BY_WIDTH) : createdBy,
        Size: flags.human ? humanSize(e.size) : String(e.size),
        Comment: e.comment,
        Tags: e.tags,
      };
    });
    const format = flags.quiet ? '{{.ID}}' : flags.format;
    const defaultTable = 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
    process.stdout.write(renderFormat(format, rows, { defaultTable, headers: HEADERS }));
  }
}
