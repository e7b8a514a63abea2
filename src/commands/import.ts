import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { importImage } from '../core/import.js';

export default class Import extends TspodCommand {
  static override description = [
    'Create an image from a tar archive of a root filesystem',
    '',
    'The archive (plain, gzip, zstd or xz compressed) comes from a file, an http(s) URL, or stdin',
    'with "-"; it becomes the one layer of the new image, for this host\'s platform.',
  ].join('\n');
  static override examples = [
    '<%= config.bin %> import rootfs.tar.gz myimage:1.0',
    '<%= config.bin %> export c1 | <%= config.bin %> import - flatten:test',
    `<%= config.bin %> import -c 'CMD ["/bin/sh"]' -m "from the nightly build" https://example.com/rootfs.tar.xz`,
  ];
  static override aliases = ['image:import'];
  static override args = {
    source: Args.string({ description: 'FILE, URL, or - for stdin', required: true }),
    image: Args.string({ description: 'REPOSITORY[:TAG] of the new image (default: none, <none>:<none>)' }),
  };
  static override flags = {
    change: Flags.string({
      char: 'c',
      multiple: true,
      description: 'Apply a Dockerfile instruction to the config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR',
    }),
    message: Flags.string({ char: 'm', description: 'Commit message (the history comment)' }),
    platform: Flags.string({ description: 'Platform os/arch[/variant] recorded in the image (default: this host)' }),
    quiet: Flags.boolean({ char: 'q', description: 'Print only the new image ID' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Import);
    const engine = await this.engine(flags);
    const id = await importImage(engine, args.source, {
      changes: flags.change ?? [],
      message: flags.message,
      name: args.image,
      platform: flags.platform,
      stdin: process.stdin,
    });
    this.log(id);
  }
}
