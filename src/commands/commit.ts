import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { commitContainer } from '../core/commit.js';

export default class Commit extends TspodCommand {
  static override description = [
    "Create a new image from a container's changes",
    '',
    "The new image is the container's image with one more layer (the files the container added,",
    'changed or deleted) and the --change instructions applied to its config. A running container',
    'is paused while its files are read (see `tspod pause --help` for how), unless --pause=false.',
  ].join('\n');
  static override examples = [
    '<%= config.bin %> commit c1 myimage:v2',
    `<%= config.bin %> commit -a "Jane <jane@example.com>" -m "add curl" -c 'CMD ["curl", "--help"]' -c "ENV MODE=prod" c1 myimage`,
  ];
  static override aliases = ['container:commit'];
  static override args = {
    container: Args.string({ description: 'CONTAINER (name or ID)', required: true }),
    image: Args.string({ description: 'REPOSITORY[:TAG] of the new image (default: none, <none>:<none>)' }),
  };
  static override flags = {
    author: Flags.string({ char: 'a', description: 'Author (e.g. "Jane Doe <jane@example.com>")' }),
    message: Flags.string({ char: 'm', description: 'Commit message (the history comment)' }),
    change: Flags.string({
      char: 'c',
      multiple: true,
      description: 'Apply a Dockerfile instruction to the config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR',
    }),
    pause: Flags.boolean({ char: 'p', description: 'Pause a running container during the commit', default: true, allowNo: true }),
    quiet: Flags.boolean({ char: 'q', description: 'Print only the new image ID' }),
    format: Flags.string({ char: 'f', description: 'Manifest format of the new image', options: ['oci', 'docker'], default: 'oci' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Commit);
    const engine = await this.engine(flags);
    const id = await commitContainer(engine, args.container, {
      author: flags.author,
      message: flags.message,
      changes: flags.change ?? [],
      format: flags.format === 'docker' ? 'v2s2' : 'oci',
      name: args.image,
      pause: flags.pause,
    });
    this.log(id);
  }
}
