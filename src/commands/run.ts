import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { attachStreams } from '../cli/attach-streams.js';
import { containerFlags, createOptionsFrom, withCidFile } from '../cli/container-flags.js';
import { createContainer } from '../core/containers/create.js';
import { startAttached } from '../core/containers/run.js';
import { removeContainers } from '../core/containers/control.js';
import { startContainer } from '../core/containers/start.js';
import { TspodError } from '../core/errors.js';
import { progressFor } from '../core/progress.js';
import { parseDetachKeys } from '../namespaces/attach.js';

export default class Run extends TspodCommand {
  static override description = 'Run a command in a new container';
  static override examples = ['<%= config.bin %> run --rm -it debian bash', '<%= config.bin %> run -d --name web busybox httpd -f'];
  static override ownPositionals = 1;
  static override args = { image: Args.string({ description: 'IMAGE [COMMAND [ARG...]]', required: true }) };
  static override flags = {
    ...containerFlags,
    detach: Flags.boolean({ char: 'd', description: 'Run the container in the background and print its ID' }),
    attach: Flags.string({ char: 'a', description: 'Attach to STDIN, STDOUT or STDERR', multiple: true, options: ['stdin', 'stdout', 'stderr', 'STDIN', 'STDOUT', 'STDERR'] }),
    'detach-keys': Flags.string({ description: 'Override the key sequence for detaching a container' }),
    'sig-proxy': Flags.boolean({ description: 'Proxy received signals to the process', default: true, allowNo: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Run);
    if (flags.detach && flags.attach?.length) throw new TspodError('conflicting options: -a and -d', 'a detached container has nothing attached');
    // Checked before anything is created, though only an attached stdin uses them.
    if (flags['detach-keys'] !== undefined) parseDetachKeys(flags['detach-keys']);
    const engine = await this.engine(flags);
    const options = createOptionsFrom(flags, args.image, this.containerArgs, progressFor(this.out, flags.quiet));
    const record = await withCidFile(flags.cidfile, () => createContainer(engine, options));
    try {
      if (flags.detach) {
        await startContainer(engine, record.id);
        this.log(record.id);
        return;
      }
      const result = await startAttached(engine, record.id, {
        streams: attachStreams(flags.attach, flags.interactive),
        sigProxy: flags['sig-proxy'],
        detachKeys: flags['detach-keys'],
      });
      if (!result.detached) process.exitCode = result.exitCode;
    } catch (e) {
      // Like Docker: a container that never ran is still removed with --rm.
      if (flags.rm) await removeContainers(engine, [record.id], { force: true, volumes: false });
      throw e;
    }
  }
}
