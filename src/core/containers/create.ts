/**
 * Creating a container: resolve (and pull if needed) the image, apply Docker's rules for its
 * config, and record the container under the store lock. Nothing is mounted or started yet.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine.js';
import { TspodError } from '../errors.js';
import { findImage, noSuchImage } from '../images.js';
import { readImageConfig } from '../image-view.js';
import type { Progress } from '../progress.js';
import { pullImage } from '../pull.js';
import { resolveCommand } from '../container-command.js';
import { resolveUser } from '../container-user.js';
import { readRootfsFile } from '../rootfs-files.js';
import { mergeEnv, parseCapabilities, parseRestart, parseSecurityOpt, parseSignal, parseTmpfs, parseUlimit, DEFAULT_CAPABILITIES } from '../run-options.js';
import type { ContainerRecord } from '../../store/container-store.js';
import type { ImageRecord } from '../../store/image-store.js';
import { VALID_NAME, randomName } from './names.js';
import { containerEvent, recordEvent } from '../events.js';

export type PullPolicy = 'always' | 'missing' | 'never';
export type NetworkMode = 'private' | 'none' | 'host';

/** Every flag of `create`/`run` that shapes the container, already parsed by the command. */
export interface CreateOptions {
  image: string;
  /** arguments after the image */
  command: string[];
  name?: string;
  entrypoint?: string;
  /** -e and --env-file, parsed */
  env: string[];
  hostname?: string;
  workdir?: string;
  user?: string;
  tty: boolean;
  interactive: boolean;
  labels: Record<string, string>;
  stopSignal?: string;
  stopTimeout?: number;
  restart: string;
  autoRemove: boolean;
  network: NetworkMode;
  readOnly: boolean;
  tmpfs: string[];
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  securityOpt: string[];
  ulimits: string[];
  init: boolean;
  pull: PullPolicy;
  platform?: string;
  runtime?: string;
  progress: Progress;
}

const DEFAULT_STOP_TIMEOUT = 10;

async function imageFor(engine: Engine, opts: CreateOptions): Promise<ImageRecord> {
  const local = () => findImage(engine, engine.store.read(), opts.image)?.image;
  if (opts.pull !== 'always') {
    const image = local();
    if (image) return image;
    if (opts.pull === 'never') throw noSuchImage(opts.image);
  }
  const { id } = await pullImage(engine, opts.image, { platform: opts.platform, progress: opts.progress });
  const image = engine.store.read().images.find((i) => i.id === id);
  if (!image) throw noSuchImage(opts.image);
  return image;
}

/** Validates the flags that are stored as text, so that a bad one fails at create, not at start. */
function validate(opts: CreateOptions): void {
  parseRestart(opts.restart);
  opts.tmpfs.forEach(parseTmpfs);
  opts.ulimits.forEach(parseUlimit);
  opts.securityOpt.forEach(parseSecurityOpt);
  parseCapabilities(opts.capAdd, opts.capDrop, DEFAULT_CAPABILITIES);
  if (opts.stopSignal) parseSignal(opts.stopSignal);
  // Docker reads -1 as "wait for ever"; Podman refuses negative values, and so does tspod.
  if (opts.stopTimeout !== undefined && opts.stopTimeout < 0) {
    throw new TspodError(`invalid --stop-timeout ${opts.stopTimeout}`, 'give the seconds to wait, 0 or more');
  }
  // The kernel's HOST_NAME_MAX: a longer name would fail only when the runtime sets it.
  if (opts.hostname && Buffer.byteLength(opts.hostname) > 64) {
    throw new TspodError(`invalid --hostname "${opts.hostname}"`, 'a host name has at most 64 characters');
  }
  if (opts.workdir && !path.posix.isAbsolute(opts.workdir)) {
    throw new TspodError(`invalid --workdir "${opts.workdir}"`, 'the working directory must be an absolute path');
  }
  if (opts.name && !VALID_NAME.test(opts.name)) {
    throw new TspodError(`invalid container name "${opts.name}"`, 'only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed');
  }
  if (opts.restart !== 'no' && opts.autoRemove) {
    throw new TspodError('conflicting options: --restart and --rm', 'a container removed on exit cannot be restarted');
  }
}

/**
 * An unknown user or group is bad input, refused before anything is recorded (Docker notices
 * only when it starts the container). The image's own files answer: the container has no
 * changes of its own yet. start resolves the user again, against what the container holds then.
 */
function checkUser(engine: Engine, image: ImageRecord, user: string): void {
  if (!user) return;
  const layers = [...image.layers].reverse().map((d) => engine.store.layerDir(d));
  resolveUser(user, readRootfsFile(layers, 'etc/passwd') ?? '', readRootfsFile(layers, 'etc/group') ?? '');
}

export async function createContainer(engine: Engine, opts: CreateOptions): Promise<ContainerRecord> {
  validate(opts);
  const image = await imageFor(engine, opts);
  const config = readImageConfig(engine, image).config;
  const args = resolveCommand(config, { entrypoint: opts.entrypoint, command: opts.command });
  // As in Docker, an empty -u, -w, -h, --name or --stop-signal is the same as none.
  const user = opts.user || config.User || '';
  checkUser(engine, image, user);
  const id = randomBytes(32).toString('hex');
  const hostname = opts.hostname || id.slice(0, 12);
  const record: ContainerRecord = {
    id,
    name: opts.name || '',
    imageName: opts.image,
    imageId: image.id,
    created: new Date().toISOString(),
    config: {
      args,
      entrypoint: opts.entrypoint !== undefined ? (opts.entrypoint ? [opts.entrypoint] : null) : (config.Entrypoint ?? null),
      cmd: opts.command.length ? opts.command : (config.Cmd ?? null),
      env: mergeEnv(config.Env ?? [], opts.env, { hostname, terminal: opts.tty }),
      user,
      workingDir: opts.workdir || config.WorkingDir || '/',
      hostname,
      tty: opts.tty,
      openStdin: opts.interactive,
      labels: { ...(config.Labels ?? {}), ...opts.labels },
      stopSignal: parseSignal(opts.stopSignal || config.StopSignal || 'SIGTERM'),
      stopTimeout: opts.stopTimeout ?? DEFAULT_STOP_TIMEOUT,
      restartPolicy: parseRestart(opts.restart),
      autoRemove: opts.autoRemove,
      network: opts.network,
      readOnly: opts.readOnly,
      tmpfs: opts.tmpfs,
      capAdd: opts.capAdd,
      capDrop: opts.capDrop,
      privileged: opts.privileged,
      securityOpt: opts.securityOpt,
      ulimits: opts.ulimits,
      init: opts.init,
      runtime: opts.runtime,
      exposedPorts: Object.keys(config.ExposedPorts ?? {}),
      volumes: Object.keys(config.Volumes ?? {}),
    },
    state: {
      status: 'created',
      pid: 0,
      conmonPid: 0,
      exitCode: 0,
      startedAt: '',
      finishedAt: '',
      error: '',
      restartCount: 0,
      stoppedByUser: false,
      restarting: false,
      mounted: false,
      networkPid: 0,
    },
  };
  await engine.containers.update((state) => {
    const names = new Set(state.containers.map((c) => c.name));
    if (opts.name && names.has(opts.name)) {
      const owner = state.containers.find((c) => c.name === opts.name)!;
      throw new TspodError(`the container name "${opts.name}" is already in use by container ${owner.id.slice(0, 12)}`, 'remove or rename that container, or choose another name');
    }
    // The image may have been removed while we pulled or read it.
    if (!engine.store.read().images.some((i) => i.id === image.id)) throw noSuchImage(opts.image);
    if (!record.name) record.name = randomName((n) => names.has(n));
    const paths = engine.containers.containerPaths(id);
    for (const dir of [paths.userdata, paths.work, paths.merged]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    // The upper dir's mode becomes the container's "/", which every user in it must traverse.
    mkdirSync(paths.upper, { mode: 0o755 });
    state.containers.push(record);
  });
  await recordEvent(engine, containerEvent(record, 'create'));
  return record;
}
