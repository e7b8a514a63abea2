/**
 * What exec's flags do, shared by the command (src/commands/exec.ts) and the fast path
 * (fast-exec.ts), which runs from a bundle without oclif.
 */
import type { Engine } from '../core/engine.js';
import { execContainer } from '../core/containers/exec.js';
import { TspodError } from '../core/errors.js';
import { parseEnv } from '../core/run-options.js';

/** The flags as parsed, by oclif or by the fast path (src/cli/fast-exec.ts). */
export interface ExecFlags {
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  env?: string[];
  'env-file'?: string[];
  user?: string;
  workdir?: string;
  privileged: boolean;
  'detach-keys'?: string;
}

/** Checks the flags, runs the command in the container; its exit code. */
export async function runExec(engine: () => Promise<Engine>, flags: ExecFlags, container: string, command: string[]): Promise<number> {
  if (command.length === 0) throw new TspodError('"tspod exec" requires at least 2 arguments', 'give CONTAINER COMMAND [ARG...]');
  // Loaded only then: the attach module brings a native addon exec has no other use for.
  if (flags['detach-keys'] !== undefined) (await import('../namespaces/attach.js')).parseDetachKeys(flags['detach-keys']);
  if (flags.tty && flags.interactive && !flags.detach && !process.stdin.isTTY) throw new TspodError('the input device is not a TTY', 'drop -t, or run tspod from a terminal');
  return execContainer(await engine(), container, {
    command,
    env: parseEnv(flags.env ?? [], flags['env-file'] ?? [], process.env),
    user: flags.user || undefined,
    workdir: flags.workdir || undefined,
    tty: flags.tty,
    interactive: flags.interactive,
    detach: flags.detach,
    privileged: flags.privileged,
  });
}

