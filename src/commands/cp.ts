import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { absoluteLocalPath, ranInNamespace } from '../cli/in-namespace.js';
import { copy, parseCopyLocation, parseCopyRequest } from '../core/containers/cp.js';

export default class Cp extends TspodCommand {
  static override description = `Copy files/folders between a container and the local filesystem

Use '-' as the source to read a tar archive from stdin and extract it to a directory destination in the container; use '-' as the destination to write a tar archive of the container source to stdout. A path ending in "/." copies the contents of a directory. Files copied into a container belong to its root user, files copied out to the caller, unless -a keeps the source's owners. Works on running and stopped containers; symlinks in the container are resolved inside it.`;

  static override aliases = ['container:cp'];
  static override usage = ['cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-', 'cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH'];
  static override args = {
    source: Args.string({ description: 'CONTAINER:SRC_PATH, SRC_PATH or -', required: true }),
    destination: Args.string({ description: 'DEST_PATH, CONTAINER:DEST_PATH or -', required: true }),
  };

  static override flags = {
    archive: Flags.boolean({ char: 'a', description: 'Archive mode (copy all uid/gid information)' }),
    'follow-link': Flags.boolean({ char: 'L', description: 'Always follow symbol link in SRC_PATH' }),
    quiet: Flags.boolean({ char: 'q', description: 'Suppress progress output during copy (tspod prints none)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Cp);
    // Entering the namespace resets the working directory: local paths go absolute first.
    const local = (arg: string) => {
      const location = parseCopyLocation(arg);
      return typeof location === 'object' && 'local' in location ? absoluteLocalPath(arg) : arg;
    };
    const [source, destination] = [local(args.source), local(args.destination)];
    const request = parseCopyRequest(source, destination, { archive: flags.archive, followLink: flags['follow-link'] });
    const engine = await this.engine(flags);
    const rerunArgs = ['cp', ...(flags.archive ? ['-a'] : []), ...(flags['follow-link'] ? ['-L'] : []), '--', source, destination];
    if (await ranInNamespace(engine, rerunArgs)) return;
    await copy(engine, request, { stdin: process.stdin, stdout: process.stdout });
  }
}
