import { Args } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { topContainer } from '../core/containers/top.js';
import { tabwrite } from '../core/template/index.js';

export default class Top extends TspodCommand {
  static override description = `Display the running processes of a container

Without arguments: the host's "ps -ef" restricted to the container's processes (UID PID PPID C STIME TTY TIME CMD, host pids and users), as Docker does. Other ps(1) options work the same way (top c aux, top c -o pid,comm; the output needs a PID column).

When every argument is one of Podman's format descriptors (separate or comma-separated) the table is read from /proc, with pids, users and groups as the container sees them: args capamb capbnd capeff capinh capprm comm etime group hgroup hpid huser label nice pcpu pgid pid ppid rgroup ruser seccomp state stime time tty user vsz (and the AIX codes %C %G %P %U %a %c %g %n %p %r %t %u %x %y %z); hpid, huser and hgroup are the host's view.`;

  static override aliases = ['container:top'];
  static override ownPositionals = 1;
  static override args = { container: Args.string({ description: 'CONTAINER [ps OPTIONS | DESCRIPTORS...]', required: true }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Top);
    const table = await topContainer(await this.engine(flags), args.container, this.containerArgs);
    const lines = [table.titles, ...table.processes].map((row) => `${row.join('\t')}\n`).join('');
    // Docker's: tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)
    process.stdout.write(tabwrite(lines, { minWidth: 20, padding: 3 }));
  }
}
