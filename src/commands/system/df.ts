import { Flags } from '@oclif/core';
import { TspodCommand } from '../../cli/base.js';
import { containerRow } from '../../core/containers/view.js';
import { TspodError } from '../../core/errors.js';
import { humanSize } from '../../core/humanize.js';
import { listImages } from '../../core/image-view.js';
import { diskUsage, type DiskUsage } from '../../core/system-df.js';
import { goJson, renderFormat } from '../../core/template/index.js';

/** `system df` prints sizes as go-units' HumanSize does: 4 significant digits. */
const size = (bytes: number) => humanSize(bytes, 4);

const HEADERS = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };
const SUMMARY_TABLE = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';

const IMAGE_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}';
const IMAGE_HEADERS = { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', CreatedSince: 'CREATED', Size: 'SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', Containers: 'CONTAINERS' };
const CONTAINER_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}';
const CONTAINER_HEADERS = { ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', LocalVolumes: 'LOCAL VOLUMES', Size: 'SIZE', RunningFor: 'CREATED', Status: 'STATUS', Names: 'NAMES' };
const VOLUME_TABLE = 'table {{.Name}}\t{{.Links}}\t{{.Size}}';

function summaryRows(usage: DiskUsage) {
  return usage.summary.map((s) => ({
    Type: s.type,
    TotalCount: s.total,
    Active: s.active,
    Size: size(s.size),
    // Docker's integer percentage, shown only when there is something at all.
    Reclaimable: s.size > 0 ? `${size(s.reclaimable)} (${Math.floor((s.reclaimable * 100) / s.size)}%)` : size(s.reclaimable),
  }));
}

function verboseRows(engine: Parameters<typeof listImages>[0], usage: DiskUsage) {
  const byId = new Map(usage.images.map((u) => [u.image.id, u]));
  const images = listImages(engine, engine.store.read(), { all: false, noTrunc: false, filters: [] }).map((row) => {
    const u = byId.get(row.FullID)!;
    return { ...row, Size: size(u.size), SharedSize: size(u.shared), UniqueSize: size(u.size - u.shared), Containers: u.containers };
  });
  const containers = usage.containers
    .sort((a, b) => Date.parse(b.container.created) - Date.parse(a.container.created))
    .map((u) => ({ ...containerRow(u.container, { noTrunc: false }), LocalVolumes: 0, Size: size(u.size) }));
  return { images, containers };
}

export default class SystemDf extends TspodCommand {
  static override description = [
    'Show how much disk space images, containers and volumes use, and how much is reclaimable',
    '',
    'Images count every stored layer once; an image is active when a container uses it, and its reclaimable space is what prune -a would remove. Containers count the files they wrote; reclaimable is what the stopped ones wrote. tspod has no volumes yet: Local Volumes are 0.',
  ].join('\n');
  static override flags = {
    verbose: Flags.boolean({ char: 'v', description: 'Show space usage per image, container and volume' }),
    format: Flags.string({ description: 'Format the summary with a Go template (.Type .TotalCount .Active .Size .Reclaimable), table TEMPLATE, or json (with -v: json only)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(SystemDf);
    if (flags.verbose && flags.format !== undefined && flags.format.trim() !== 'json') {
      throw new TspodError('--format with -v takes only json', 'drop -v to format the summary with a template');
    }
    const engine = await this.engine(flags);
    const usage = await diskUsage(engine);
    if (!flags.verbose) {
      process.stdout.write(renderFormat(flags.format, summaryRows(usage), { defaultTable: SUMMARY_TABLE, headers: HEADERS }));
      return;
    }
    const { images, containers } = verboseRows(engine, usage);
    if (flags.format !== undefined) {
      process.stdout.write(`${goJson({ Images: images, Containers: containers, Volumes: [] })}\n`);
      return;
    }
    process.stdout.write(
      [
        'Images space usage:\n',
        renderFormat(undefined, images, { defaultTable: IMAGE_TABLE, headers: IMAGE_HEADERS }),
        'Containers space usage:\n',
        renderFormat(undefined, containers, { defaultTable: CONTAINER_TABLE, headers: CONTAINER_HEADERS }),
        'Local Volumes space usage:\n',
        renderFormat(undefined, [], { defaultTable: VOLUME_TABLE, headers: { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' } }),
      ].join('\n'),
    );
  }
}
