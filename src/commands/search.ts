import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { ellipsis } from '../core/humanize.js';
import { DEFAULT_SEARCH_LIMIT, listRepositoryTags, searchImages, type SearchOptions, type SearchReport } from '../core/search.js';
import { renderFormat } from '../core/template/index.js';
import { authfileFlag, certDirFlag, tlsVerifyFlag } from '../cli/registry-flags.js';

const HEADERS = {
  Index: 'INDEX',
  Name: 'NAME',
  Description: 'DESCRIPTION',
  Stars: 'STARS',
  StarCount: 'STARS',
  Official: 'OFFICIAL',
  IsOfficial: 'OFFICIAL',
  Automated: 'AUTOMATED',
  IsAutomated: 'AUTOMATED',
  Tag: 'TAG',
};

/** Docker's width of a truncated DESCRIPTION. */
const DESCRIPTION_WIDTH = 45;

const ok = (b: boolean) => (b ? '[OK]' : '');

export default class Search extends TspodCommand {
  static override description = [
    'Search registries for images',
    '',
    "A TERM that starts with a registry (127.0.0.1:5000/app) searches that registry; otherwise every registry of registries.json's unqualifiedSearchRegistries is searched (default docker.io).",
    "Registries with a search API (Docker Hub's /v1/search) are asked through it; a plain distribution registry's catalog (/v2/_catalog) is listed and its repositories whose name contains TERM are shown (REGISTRY/ alone lists them all). --limit applies per registry.",
  ].join('\n');
  static override examples = [
    '<%= config.bin %> search busybox',
    '<%= config.bin %> search --filter stars=10 --limit 5 debian',
    '<%= config.bin %> search 127.0.0.1:5000/app --format "{{.Name}}"',
    '<%= config.bin %> search --list-tags 127.0.0.1:5000/app',
  ];
  static override args = { term: Args.string({ description: 'TERM, or REGISTRY/TERM', required: true }) };
  static override flags = {
    limit: Flags.integer({ description: 'Maximum number of results per registry (1-100)', default: DEFAULT_SEARCH_LIMIT }),
    filter: Flags.string({ char: 'f', description: 'Filter output: is-official=true|false, is-automated=true|false, stars=N (at least N)', multiple: true }),
    format: Flags.string({
      description: 'Format output with a Go template (.Name .Description .Stars/.StarCount .Official/.IsOfficial .Automated/.IsAutomated .Index, with --list-tags .Name .Tag), table TEMPLATE, or json',
    }),
    'no-trunc': Flags.boolean({ description: "Don't truncate descriptions" }),
    'list-tags': Flags.boolean({ description: 'List the tags of the repository TERM names instead (NAME TAG)' }),
    'tls-verify': tlsVerifyFlag,
    authfile: authfileFlag,
    'cert-dir': certDirFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Search);
    const engine = await this.engine(flags);
    const opts: SearchOptions = {
      limit: flags.limit,
      filters: flags.filter ?? [],
      tlsVerify: flags['tls-verify'],
      authfile: flags.authfile,
      certDir: flags['cert-dir'],
    };
    if (flags['list-tags']) {
      const report = await listRepositoryTags(engine, args.term, opts);
      this.warnAbout(report);
      process.stdout.write(renderFormat(flags.format, report.results.map((r) => ({ Name: r.name, Tag: r.tag })), { defaultTable: 'table {{.Name}}\t{{.Tag}}', headers: HEADERS }));
      return;
    }
    const report = await searchImages(engine, args.term, opts);
    this.warnAbout(report);
    const rows = report.results.map((r) => {
      const description = flags['no-trunc'] ? r.description : ellipsis(r.description.replace(/\n/g, ' '), DESCRIPTION_WIDTH);
      return {
        Index: r.index,
        Name: r.name,
        Description: description,
        Stars: r.stars,
        StarCount: r.stars,
        Official: ok(r.official),
        IsOfficial: ok(r.official),
        Automated: ok(r.automated),
        IsAutomated: ok(r.automated),
      };
    });
    const defaultTable = 'table {{.Name}}\t{{.Description}}\t{{.Stars}}\t{{.Official}}\t{{.Automated}}';
    process.stdout.write(renderFormat(flags.format, rows, { defaultTable, headers: HEADERS }));
  }

  /** Registries that failed while others answered: one warning line each. */
  private warnAbout(report: SearchReport<unknown>): void {
    for (const e of report.failures) process.stderr.write(`Warning: ${e.line}\n`);
  }
}
