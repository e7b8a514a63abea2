import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { attachStreams } from '../cli/attach-streams.js';
import { attachToContainer } from '../core/containers/attach.js';

export default class Attach extends TspodCommand {
  static override description = `Attach local standard input, output, and error streams to a running container

Detach with the detach keys (default ctrl-p,ctrl-q; only while stdin is attached): the container keeps running and attach exits 0. Otherwise attach ends when the container exits, with its exit code. Ctrl-C stops the container: with a terminal (-t) it is typed into the container's terminal, without one SIGINT is forwarded (--sig-proxy, a second Ctrl-C kills).`;

  static override aliases = ['container:attach'];
  static override args = { container: Args.string({ description: 'CONTAINER', required: true }) };
  static override flags = {
    'no-stdin': Flags.boolean({ description: 'Do not attach STDIN (it is attached only to containers created with -i)' }),
    'sig-proxy': Flags.boolean({ description: 'Proxy all received signals to the process (without a terminal)', default: true, allowNo: true }),
    'detach-keys': Flags.string({ description: 'Override the key sequence for detaching a container (default ctrl-p,ctrl-q)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Attach);
    const result = await attachToContainer(await this.engine(flags), args.container, {
      streams: attachStreams(undefined, !flags['no-stdin']),
      sigProxy: flags['sig-proxy'],
      detachKeys: flags['detach-keys'],
    });
    if (result.detached) process.stderr.write('read escape sequence\n');
    else process.exitCode = result.exitCode;
  }
}
