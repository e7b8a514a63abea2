/**
 * For tests of `tspod run`/`create` through the CLI: one store with busybox and an "app" image
 * (ENTRYPOINT, CMD, ENV, WORKDIR, USER, labels, a stop signal) pulled once from a loopback
 * registry, short names for both, and what a failed command must not leave behind: container
 * records and directories, mounts, processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { BIN, makeStore, type RunResult, type TestStore } from './cli.js';
import { pushImage } from './push.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { assertOk } from './store-checks.js';
import { buildImage, DEFAULT_PATH, layerFromTar, tarball, tinyLayerGzip } from '../fixtures/images.js';
import { seedRegistry } from '../fixtures/seed.js';

/** The app image's config, for assertions. */
export const APP = {
  entrypoint: ['/srv/app/entry.sh'],
  cmd: ['echo', 'default', 'cmd'],
  env: [DEFAULT_PATH, 'APP_MODE=image', 'KEEP=kept'],
  workdir: '/srv/app',
  user: 'app',
  labels: { 'org.tspod.app': 'image', shared: 'from-image' },
  stopSignal: 'SIGUSR1',
} as const;

/** The app image: busybox plus /srv/app/entry.sh, which says what it got and execs it. */
async function appImage() {
  const extra = layerFromTar(
    await tarball([
      { name: 'srv/', type: 'directory' },
      { name: 'srv/app/', type: 'directory', uid: 1000, gid: 1000 },
      { name: 'srv/app/entry.sh', mode: 0o755, content: '#!/bin/sh\necho "entry: $*"\nexec "$@"\n' },
    ]),
  );
  return buildImage({
    config: {
      Env: [...APP.env],
      Entrypoint: [...APP.entrypoint],
      Cmd: [...APP.cmd],
      WorkingDir: APP.workdir,
      User: APP.user,
      Labels: { ...APP.labels },
      StopSignal: APP.stopSignal,
    },
    layers: [
      { layer: await tinyLayerGzip(), createdBy: 'ADD busybox (tspod fixture)' },
      { layer: extra, createdBy: 'ADD entry.sh /srv/app/' },
    ],
  });
}

export interface RunEnv {
  registry: TestRegistry;
  store: TestStore;
  tspod: TestStore['tspod'];
  /** `tspod ARGS` as a child process, to signal it or read its output as it comes */
  spawnTspod(args: string[]): ChildProcess;
  stop(): Promise<void>;
}

/**
 * A registry with busybox (short name "busybox") and, with `app`, the app image ("app"); both
 * pulled into a fresh store. Other short names are looked up in that registry only.
 */
export async function startRunEnv(opts: { app?: boolean } = {}): Promise<RunEnv> {
  const registry = await startRegistry();
  const store = makeStore();
  try {
    await seedRegistry({ url: registry.url }, ['busybox']);
    if (opts.app) await pushImage({ url: registry.url }, 'test/app', 'latest', await appImage());
    store.registries({
      unqualifiedSearchRegistries: [registry.host],
      aliases: { busybox: `${registry.host}/library/busybox`, app: `${registry.host}/test/app` },
    });
    for (const name of opts.app ? ['busybox', 'app'] : ['busybox']) assertOk(await store.tspod(['pull', '-q', name]), `pull ${name}`);
  } catch (e) {
    registry.stop();
    await store.cleanup();
    throw e;
  }
  const registriesFile = path.join(store.configDir, 'registries.json');
  return {
    registry,
    store,
    tspod: store.tspod,
    spawnTspod: (args) =>
      spawn(process.execPath, [BIN, '--root', store.root, '--runroot', store.runroot, ...args], {
        env: { ...process.env, TSPOD_REGISTRIES_CONF: registriesFile, XDG_CONFIG_HOME: path.dirname(store.configDir) },
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    async stop() {
      registry.stop();
      await store.cleanup();
    },
  };
}

/** What a store's containers hold on this machine. */
export interface Leftovers {
  /** ids in containers.json */
  records: string[];
  /** ROOT/containers/* and RUNROOT/containers/* */
  dirs: string[];
  /** mount points under the store, where tspod mounts (the pause process's mount namespace rootless) */
  mounts: string[];
  /** pid and command line of each process that names the store (conmon, a cleanup) */
  processes: string[];
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).map((e) => path.join(dir, e));
  } catch {
    return [];
  }
}

/** The pause process of a rootless store (RUNROOT/pause.pid, first line); undefined as root or when none runs. */
export function pausePid(store: TestStore): number | undefined {
  if (process.geteuid!() === 0) return undefined;
  const file = path.join(store.runroot, 'pause.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return existsSync(`/proc/${pid}`) ? pid : undefined;
}

function storeMounts(store: TestStore): string[] {
  const pid = process.geteuid!() === 0 ? 'self' : pausePid(store);
  if (pid === undefined) return [];
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(store.root + '/') || point.startsWith(store.runroot + '/'));
}

function storeProcesses(store: TestStore): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if (argv.some((a) => a.includes(store.root) || a.includes(store.runroot))) found.push(`${entry}: ${argv.join(' ').trim()}`);
  }
  return found;
}

export function leftovers(store: TestStore): Leftovers {
  const file = path.join(store.root, 'containers.json');
  const records = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { containers: { id: string }[] }).containers.map((c) => c.id) : [];
  return {
    records: records.sort(),
    dirs: [...list(path.join(store.root, 'containers')), ...list(path.join(store.runroot, 'containers'))].sort(),
    mounts: storeMounts(store).sort(),
    processes: storeProcesses(store).sort(),
  };
}

/** After a command that failed: the same containers, directories, mounts and processes as before. */
export function assertNothingNew(store: TestStore, before: Leftovers, what: string): void {
  assert.equal(leftovers(store), before, `${what} left something behind`);
}

/**
 * Waits until the store holds nothing of `ids` (records, directories, mounts, processes): an
 * exited --rm container's cleanup may still be finishing in conmon's exit command.
 */
export async function waitGone(store: TestStore, ids: string[], what: string): Promise<void> {
  const remaining = () => {
    const l = leftovers(store);
    return [...l.records, ...l.dirs, ...l.mounts, ...l.processes].filter((x) => ids.some((id) => x.includes(id)));
  };
  for (let i = 0; i < 200 && remaining().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(remaining(), [], `${what}: still there`);
}

/** Nothing at all: no record, directory, mount or process of any container. */
export function assertEmpty(store: TestStore): void {
  assert.equal(leftovers(store), { records: [], dirs: [], mounts: [], processes: [] });
}

/** The output lines of a successful run. */
export function lines(r: RunResult, what: string): string[] {
  assertOk(r, what);
  return r.stdout.split('\n').filter((l) => l !== '');
}
