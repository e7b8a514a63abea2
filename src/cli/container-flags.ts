/**
 * The flags `run` and `create` share, Docker's names and meanings, and their translation into
 * the engine's CreateOptions.
 */
import { Flags } from '@oclif/core';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import type { CreateOptions, NetworkMode, PullPolicy } from '../core/containers/create.js';
import { TspodError } from '../core/errors.js';
import { parseEnv, parseLabels } from '../core/run-options.js';
import type { Progress } from '../core/progress.js';

const many = (description: string, char?: 'e' | 'l') => Flags.string({ description, multiple: true, char });

export const containerFlags = {
  interactive: Flags.boolean({ char: 'i', description: 'Keep STDIN open even if not attached' }),
  tty: Flags.boolean({ char: 't', description: 'Allocate a pseudo-TTY' }),
  name: Flags.string({ description: 'Assign a name to the container' }),
  env: many('Set environment variables (VAR=value, or VAR to take it from here)', 'e'),
  'env-file': many('Read in a file of environment variables'),
  hostname: Flags.string({ char: 'h', description: 'Container host name' }),
  workdir: Flags.string({ char: 'w', description: 'Working directory inside the container' }),
  user: Flags.string({ char: 'u', description: 'Username or UID (format: <name|uid>[:<group|gid>])' }),
  entrypoint: Flags.string({ description: 'Overwrite the default ENTRYPOINT of the image' }),
  init: Flags.boolean({ description: 'Run an init (catatonit) inside the container that forwards signals and reaps processes' }),
  restart: Flags.string({ description: 'Restart policy: no, always, on-failure[:max-retries], unless-stopped', default: 'no' }),
  'stop-signal': Flags.string({ description: 'Signal to stop the container' }),
  'stop-timeout': Flags.integer({ description: 'Timeout (in seconds) to stop the container' }),
  label: many('Set meta data on a container', 'l'),
  'label-file': many('Read in a line delimited file of labels'),
  'read-only': Flags.boolean({ description: "Mount the container's root filesystem as read only" }),
  tmpfs: many('Mount a tmpfs directory (PATH[:OPTIONS])'),
  'cap-add': many('Add Linux capabilities'),
  'cap-drop': many('Drop Linux capabilities'),
  privileged: Flags.boolean({ description: 'Give extended privileges to this container (as far as rootless allows)' }),
  'security-opt': many('Security options (no-new-privileges)'),
  ulimit: many('Ulimit options (TYPE=SOFT[:HARD])'),
  pull: Flags.string({ description: 'Pull image before running', options: ['always', 'missing', 'never'], default: 'missing' }),
  platform: Flags.string({ description: 'Platform os/arch[/variant] if the image must be pulled' }),
  network: Flags.string({ description: 'Network mode: private (default, slirp4netns/pasta), none, host', aliases: ['net'] }),
  runtime: Flags.string({ description: 'OCI runtime to use (runc, crun, or a path)' }),
  quiet: Flags.boolean({ char: 'q', description: 'Suppress the pull output' }),
  rm: Flags.boolean({ description: 'Automatically remove the container when it exits' }),
  cidfile: Flags.string({ description: 'Write the container ID to the file' }),
};

function networkMode(value: string | undefined): NetworkMode {
  switch (value) {
    case undefined:
    case 'private':
    case 'slirp4netns':
    case 'pasta':
    case 'bridge':
    case 'default':
      return 'private';
    case 'none':
    case 'host':
      return value;
    default:
      throw new TspodError(`invalid --network "${value}"`, 'use none, host or the default private network');
  }
}

export function createOptionsFrom(
  flags: Record<string, unknown>,
  image: string,
  command: string[],
  progress: Progress,
): CreateOptions {
  const list = (k: string) => (flags[k] as string[] | undefined) ?? [];
  return {
    image,
    command,
    name: flags.name as string | undefined,
    entrypoint: flags.entrypoint as string | undefined,
    env: parseEnv(list('env'), list('env-file'), process.env),
    hostname: flags.hostname as string | undefined,
    workdir: flags.workdir as string | undefined,
    user: flags.user as string | undefined,
    tty: Boolean(flags.tty),
    interactive: Boolean(flags.interactive),
    labels: parseLabels(list('label'), list('label-file')),
    stopSignal: flags['stop-signal'] as string | undefined,
    stopTimeout: flags['stop-timeout'] as number | undefined,
    restart: (flags.restart as string | undefined) ?? 'no',
    autoRemove: Boolean(flags.rm),
    network: networkMode(flags.network as string | undefined),
    readOnly: Boolean(flags['read-only']),
    tmpfs: list('tmpfs'),
    capAdd: list('cap-add'),
    capDrop: list('cap-drop'),
    privileged: Boolean(flags.privileged),
    securityOpt: list('security-opt'),
    ulimits: list('ulimit'),
    init: Boolean(flags.init),
    pull: ((flags.pull as string | undefined) ?? 'missing') as PullPolicy,
    platform: flags.platform as string | undefined,
    runtime: flags.runtime as string | undefined,
    progress,
  };
}

/**
 * --cidfile as Docker handles it: the file is created, exclusively, before the container, so an
 * existing file or a bad path changes nothing; it gets the ID once the container exists and is
 * removed again if creating the container fails.
 */
export async function withCidFile<T extends { id: string }>(file: string | undefined, create: () => Promise<T>): Promise<T> {
  if (!file) return create();
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new TspodError(`container ID file ${file} exists`, 'make sure the other container is not running, or delete the file');
    throw new TspodError(`cannot create the container ID file ${file}: ${code === 'ENOENT' ? 'no such directory' : (e as Error).message}`);
  }
  try {
    const created = await create();
    writeSync(fd, created.id);
    return created;
  } catch (e) {
    rmSync(file, { force: true });
    throw e;
  } finally {
    closeSync(fd);
  }
}
