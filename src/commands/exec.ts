import { Args, Flags } from '@oclif/core';
import { TspodCommand } from '../cli/base.js';
import { runExec } from '../cli/exec-run.js';

const execFlags = {
  interactive: Flags.boolean({ char: 'i', description: 'Keep STDIN open: the command reads it' }),
  tty: Flags.boolean({ char: 't', description: 'Allocate a pseudo-TTY' }),
  detach: Flags.boolean({ char: 'd', description: 'Detached mode: run the command in the background' }),
  env: Flags.string({ char: 'e', description: 'Set environment variables (VAR=value, or VAR to take it from here)', multiple: true }),
  'env-file': Flags.string({ description: 'Read in a file of environment variables', multiple: true }),
  user: Flags.string({ char: 'u', description: "Username or UID (format: <name|uid>[:<group|gid>]); default the container's user" }),
  workdir: Flags.string({ char: 'w', description: 'Working directory inside the container (absolute)' }),
  privileged: Flags.boolean({ description: 'Give extended privileges (every capability) to the command' }),
  'detach-keys': Flags.string({ description: 'Accepted for compatibility (validated): a tspod exec cannot be detached' }),
};

export default class Exec extends TspodCommand {
  static override description = [
    'Run a command in a running container',
    "The command joins the container's namespaces and root filesystem, with the container's environment, user, working directory and capabilities unless changed here, and tspod exits with the command's code (126: it cannot be invoked, 127: it is not found).",
    'tspod runs it without a monitor: with -t the OCI runtime relays the terminal itself, so there is no detaching (--detach-keys is accepted for compatibility, and the keys reach the command). -d discards the output; with -d -t the command gets a terminal that conmon holds until the command exits.',
  ].join('\n\n');
  static override examples = ['<%= config.bin %> exec -it web sh', '<%= config.bin %> exec -u 0 -w /tmp -e DEBUG=1 web env'];
  static override aliases = ['container:exec'];
  static override ownPositionals = 1;
  static override args = { container: Args.string({ description: 'CONTAINER COMMAND [ARG...]', required: true }) };
  static override flags = execFlags;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Exec);
    process.exitCode = await runExec(() => this.engine(flags), flags, args.container, this.containerArgs);
  }
}
