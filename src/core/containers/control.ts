/** stop, kill, wait, rm, rename and prune: Docker's semantics without a daemon. */
import type { Engine } from '../engine.js';
import { TspodError, forEachInput } from '../errors.js';
import type { ContainerRecord } from '../../store/container-store.js';
import { waitForExit, readExitCode } from '../../namespaces/conmon.js';
import { ContainerNotRunningError, runtimeKill } from '../../namespaces/oci-runtime.js';
import { cleanupContainer, hasExited, removeFiles, syncContainers } from './exit.js';
import { startContainer } from './start.js';
import { VALID_NAME } from './names.js';
import { findContainer, isActive, requireContainer } from './lookup.js';
import { runtimeContext } from './runtime-context.js';
import { parseSignal } from '../run-options.js';
import { containerMatcher } from './list.js';
import { matchesPruneFilter, parsePruneFilters } from '../prune-filters.js';
import { thawAfterSignal } from './pause.js';
import { containerEvent, recordEvent } from '../events.js';

/** Podman's exit code for rm of a running container without -f. */
export const EXIT_CONTAINER_RUNNING = 2;

function current(engine: Engine, input: string): ContainerRecord {
  return requireContainer(engine.containers.read(), input);
}

/** Marks the container as stopped on purpose (restart policies leave it alone); its fresh record. */
async function markStoppedByUser(engine: Engine, id: string): Promise<ContainerRecord> {
  return engine.containers.update((state) => {
    const c = requireContainer(state, id);
    c.state.stoppedByUser = true;
    return c;
  });
}

/**
 * Waits for the exit code, up to `timeoutMs` (undefined: forever); undefined on timeout. A
 * container whose monitor died without recording one (killed, a crash) has exited too: 255, as
 * cleanup records it.
 */
async function exitWithin(engine: Engine, c: ContainerRecord, timeoutMs?: number): Promise<number | undefined> {
  const { runDir } = engine.containers.containerPaths(c.id);
  const signal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  try {
    return await waitForExit(runDir, c.id, { conmonPid: c.state.conmonPid, signal });
  } catch (e) {
    if (signal?.aborted) return undefined;
    if (await hasExited(engine, c)) return (await readExitCode(runDir, c.id)) ?? 255;
    throw e;
  }
}

async function signalContainer(engine: Engine, c: ContainerRecord, signal: number | string): Promise<void> {
  const rc = await runtimeContext(engine, c);
  try {
    await runtimeKill(rc, c.id, signal, { all: false });
  } catch (e) {
    // It ended on its own meanwhile; the caller's wait sees the exit file.
    if (!(e instanceof ContainerNotRunningError)) throw e;
  }
  // A paused container acts on the signal once it runs again.
  if (c.state.status === 'paused') await thawAfterSignal(engine, c.id);
}

/** Docker's stop: the stop signal, then SIGKILL after `timeoutSec`. A stopped container is fine. */
export async function stopContainer(engine: Engine, input: string, timeoutSec?: number): Promise<void> {
  // Also when it is not running: it may be between two runs of its restart policy.
  const c = await markStoppedByUser(engine, current(engine, input).id);
  if (!isActive(c)) return;
  const timeout = timeoutSec ?? c.config.stopTimeout;
  if (timeout > 0) await signalContainer(engine, c, c.config.stopSignal);
  if ((await exitWithin(engine, c, timeout * 1000)) === undefined) {
    await signalContainer(engine, c, 'KILL');
    await exitWithin(engine, c);
  }
  // A foreground run of an --rm container may have cleaned up and removed it first: stopped all the same.
  await cleanupContainer(engine, c.id).catch((e: unknown) => {
    if (findContainer(engine.containers.read(), c.id)) throw e;
  });
  await recordEvent(engine, containerEvent(c, 'stop'));
}

export async function killContainer(engine: Engine, input: string, signal: string): Promise<void> {
  const c = current(engine, input);
  const notRunning = () => new TspodError(`cannot kill container ${input}: it is not running`);
  if (!isActive(c)) throw notRunning();
  const number = parseSignal(signal);
  if (number === 9 || number === 15) await markStoppedByUser(engine, c.id);
  try {
    await runtimeKill(await runtimeContext(engine, c), c.id, number);
  } catch (e) {
    // Its process had ended and nobody had noticed yet: for kill, that is not running (Docker).
    if (e instanceof ContainerNotRunningError) throw notRunning();
    throw e;
  }
  // Docker unpauses for SIGKILL only: other signals wait until the user unpauses.
  if (number === 9 && c.state.status === 'paused') await thawAfterSignal(engine, c.id);
  await recordEvent(engine, containerEvent(c, 'kill', { signal: String(number) }));
}

/**
 * A restart asked for is no restart policy at work: RestartCount stays (as in Podman). Nor is it
 * an exit that --rm acts on (as in Docker): the container stays, unless it cannot start again.
 */
export async function restartContainer(engine: Engine, input: string, timeoutSec?: number): Promise<void> {
  const { id } = await engine.containers.update((state) => {
    const c = requireContainer(state, input);
    c.state.restarting = true;
    return c;
  });
  let c: ContainerRecord;
  try {
    await stopContainer(engine, id, timeoutSec);
    c = await startContainer(engine, id);
  } catch (e) {
    // Not started again: an exit like any other from now on (--rm removes it).
    if (findContainer(engine.containers.read(), id)) {
      await engine.containers.update((state) => {
        const fresh = state.containers.find((x) => x.id === id);
        if (fresh) fresh.state.restarting = false;
      });
      await cleanupContainer(engine, id).catch(() => undefined);
    }
    throw e;
  }
  await recordEvent(engine, containerEvent(c, 'restart'));
}

/** Waits for the container to stop; its exit code. */
export async function waitContainer(engine: Engine, input: string): Promise<number> {
  const c = current(engine, input);
  if (isActive(c)) {
    const code = await exitWithin(engine, c);
    await cleanupContainer(engine, c.id).catch(() => undefined);
    return code ?? 255;
  }
  const { runDir } = engine.containers.containerPaths(c.id);
  return c.state.status === 'exited' ? c.state.exitCode : ((await readExitCode(runDir, c.id)) ?? 0);
}

export interface RemoveOptions {
  force: boolean;
  volumes: boolean;
}

async function removeOne(engine: Engine, input: string, opts: RemoveOptions): Promise<string> {
  const c = current(engine, input);
  if (isActive(c)) {
    if (!opts.force) {
      throw new TspodError(`cannot remove container ${input}: it is ${c.state.status}`, 'stop it first or use rm -f', EXIT_CONTAINER_RUNNING);
    }
    await markStoppedByUser(engine, c.id);
    await signalContainer(engine, c, 'KILL');
    await exitWithin(engine, c, 10_000);
  }
  await cleanupContainer(engine, c.id);
  await engine.containers.update(async (state) => {
    const fresh = state.containers.find((x) => x.id === c.id);
    if (!fresh) return;
    await removeFiles(engine, fresh);
    state.containers = state.containers.filter((x) => x.id !== c.id);
    await recordEvent(engine, containerEvent(fresh, 'destroy'));
  });
  return input;
}

/** Removes several containers; failures are collected and reported together. */
export async function removeContainers(engine: Engine, inputs: string[], opts: RemoveOptions, removed: (input: string) => void = () => undefined): Promise<void> {
  await forEachInput(inputs, async (input) => removed(await removeOne(engine, input, opts)));
}

export async function renameContainer(engine: Engine, input: string, newName: string): Promise<void> {
  if (!VALID_NAME.test(newName)) throw new TspodError(`invalid container name "${newName}"`, 'only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed');
  await engine.containers.update(async (state) => {
    const c = requireContainer(state, input);
    const owner = state.containers.find((x) => x.name === newName);
    if (owner && owner !== c) throw new TspodError(`the container name "${newName}" is already in use by container ${owner.id.slice(0, 12)}`, 'choose another name');
    const oldName = c.name;
    c.name = newName;
    await recordEvent(engine, containerEvent(c, 'rename', { oldName }));
  });
}

/** Removes every stopped container that matches the prune filters (until=, label=, label!=); their IDs. */
export async function pruneContainers(engine: Engine, filters: string[] = []): Promise<string[]> {
  const filter = parsePruneFilters(filters);
  const containers = await syncContainers(engine);
  const stopped = containers.filter((c) => !isActive(c) && matchesPruneFilter(filter, c.created, c.config.labels)).map((c) => c.id);
  await removeContainers(engine, stopped, { force: false, volumes: false });
  await recordEvent(engine, { type: 'container', action: 'prune', id: '' });
  return stopped;
}

/**
 * `start --all [--filter ...]`: starts every container that is not running and matches the
 * filters (ps's, restart-policy= included), in creation order; their IDs. What the boot unit of
 * `system service install` runs. An unless-stopped container that was stopped with stop, kill or
 * rm -f stays stopped, as Docker leaves it at daemon start; `start NAME` still starts it.
 */
export async function startAllContainers(engine: Engine, filters: string[], started: (id: string) => void = () => undefined): Promise<void> {
  const matches = containerMatcher(engine, filters);
  // Syncing first: containers whose monitor died (a reboot) are finalized, and those with a
  // restart policy started by it.
  const candidates = (await syncContainers(engine))
    .filter((c) => !isActive(c) && matches(c))
    .filter((c) => !(c.config.restartPolicy.name === 'unless-stopped' && c.state.stoppedByUser))
    .sort((a, b) => Date.parse(a.created) - Date.parse(b.created));
  await forEachInput(
    candidates.map((c) => c.id),
    async (id) => {
      await startContainer(engine, id);
      started(id);
    },
  );
}
