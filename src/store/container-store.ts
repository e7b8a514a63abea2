/**
 * The container store's on-disk layout:
 *   ROOT/containers.json                  container records (zod-validated), replaced atomically
 *   ROOT/containers/ID/userdata/          the OCI bundle (config.json), /etc files, ctr.log, fifos
 *   ROOT/containers/ID/{diff,work,merged} the overlay's upper dir, work dir and mount point
 *   RUNROOT/containers/ID/                conmon's pid files, exit dir and attach socket
 *   RUNROOT/runtime/                      the OCI runtime's state root
 * Records change under the same store lock as images, so `rmi` and `run` cannot race.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { JsonState } from './json-state.js';
import type { StorePaths } from './paths.js';
import { ensurePrivateDir } from './paths.js';

export const ContainerStatus = z.enum(['created', 'running', 'paused', 'stopping', 'exited']);
export type ContainerStatus = z.infer<typeof ContainerStatus>;

const RestartPolicy = z.object({ name: z.enum(['no', 'always', 'on-failure', 'unless-stopped']), maximumRetryCount: z.number() });

/** What the user asked for at create time: everything needed to (re)start the container. */
export const ContainerConfig = z.object({
  /** the process as it will run: entrypoint + command after Docker's rules */
  args: z.array(z.string()),
  entrypoint: z.array(z.string()).nullable(),
  cmd: z.array(z.string()).nullable(),
  env: z.array(z.string()),
  user: z.string(),
  workingDir: z.string(),
  hostname: z.string(),
  tty: z.boolean(),
  openStdin: z.boolean(),
  labels: z.record(z.string(), z.string()),
  stopSignal: z.number(),
  stopTimeout: z.number(),
  restartPolicy: RestartPolicy,
  autoRemove: z.boolean(),
  network: z.enum(['private', 'none', 'host']),
  readOnly: z.boolean(),
  tmpfs: z.array(z.string()),
  capAdd: z.array(z.string()),
  capDrop: z.array(z.string()),
  privileged: z.boolean(),
  securityOpt: z.array(z.string()),
  ulimits: z.array(z.string()),
  init: z.boolean(),
  runtime: z.string().optional(),
  exposedPorts: z.array(z.string()),
  volumes: z.array(z.string()),
});
export type ContainerConfig = z.infer<typeof ContainerConfig>;

export const ContainerState = z.object({
  status: ContainerStatus,
  pid: z.number(),
  conmonPid: z.number(),
  exitCode: z.number(),
  startedAt: z.string(),
  finishedAt: z.string(),
  error: z.string(),
  restartCount: z.number(),
  /** set by stop/kill/rm so that restart policies (unless-stopped, on-failure) know it was on purpose */
  stoppedByUser: z.boolean(),
  /** stopped by `restart`, to be started again: its exit is no reason for --rm to remove it */
  restarting: z.boolean().default(false),
  /** the rootfs overlay is mounted */
  mounted: z.boolean(),
  /** pid of slirp4netns/pasta, when one runs for it */
  networkPid: z.number(),
});
export type ContainerState = z.infer<typeof ContainerState>;

export const ContainerRecord = z.object({
  id: z.string().regex(/^[a-f0-9]{64}$/),
  name: z.string(),
  /** the image as the user named it, and what it resolved to */
  imageName: z.string(),
  imageId: z.string(),
  created: z.string(),
  config: ContainerConfig,
  state: ContainerState,
});
export type ContainerRecord = z.infer<typeof ContainerRecord>;

const StateFile = z.object({ version: z.literal(1), containers: z.array(ContainerRecord) });
export type ContainersState = z.infer<typeof StateFile>;

const STATE_FILE = 'containers.json';

export interface ContainerPaths {
  home: string;
  userdata: string;
  upper: string;
  work: string;
  merged: string;
  runDir: string;
  logPath: string;
}

export class ContainerStore {
  private readonly state: JsonState<typeof StateFile>;

  private constructor(readonly paths: StorePaths) {
    this.state = new JsonState(paths.root, STATE_FILE, StateFile, () => ({ version: 1 as const, containers: [] }), 'container store');
  }

  static open(paths: StorePaths): ContainerStore {
    ensurePrivateDir(paths.root);
    mkdirSync(path.join(paths.root, 'containers'), { recursive: true });
    return new ContainerStore(paths);
  }

  read(): ContainersState {
    return this.state.read();
  }

  /** Runs `fn` on a fresh copy under the store lock and writes the result atomically. */
  update<T>(fn: (state: ContainersState) => T | Promise<T>): Promise<T> {
    return this.state.update(fn);
  }

  containerPaths(id: string): ContainerPaths {
    const home = path.join(this.paths.root, 'containers', id);
    const userdata = path.join(home, 'userdata');
    return {
      home,
      userdata,
      upper: path.join(home, 'diff'),
      work: path.join(home, 'work'),
      merged: path.join(home, 'merged'),
      runDir: path.join(this.paths.runroot, 'containers', id),
      logPath: path.join(userdata, 'ctr.log'),
    };
  }

  /** The OCI runtime's --root. */
  runtimeRoot(): string {
    return path.join(this.paths.runroot, 'runtime');
  }
}
