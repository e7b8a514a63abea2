/** The process a container runs: Docker's rules for combining ENTRYPOINT, CMD and the command line. */
import { TspodError } from './errors.js';

export interface ImageCommand {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
}

export interface CommandOptions {
  /** --entrypoint: undefined keeps the image's; '' clears it */
  entrypoint?: string;
  /** the arguments after the image name */
  command: string[];
}

/**
 * ENTRYPOINT followed by the command: the command line's arguments if any, else the image's CMD.
 * Setting --entrypoint (even to '') also drops the image's CMD, as Docker does; an entrypoint of
 * [""] counts as none (Podman).
 */
export function resolveCommand(image: ImageCommand, opts: CommandOptions): string[] {
  const entrypoint = opts.entrypoint === undefined ? (image.Entrypoint ?? []) : [opts.entrypoint];
  const command = opts.command.length > 0 || opts.entrypoint !== undefined ? opts.command : (image.Cmd ?? []);
  const args = [...(entrypoint.length === 1 && entrypoint[0] === '' ? [] : entrypoint), ...command];
  if (args.length === 0) {
    throw new TspodError('no command specified', 'give a command after the image name, or use --entrypoint');
  }
  return args;
}
