/**
 * After a container's process ends: record its exit code, unmount its rootfs, delete it from the
 * runtime, stop its network helper, then apply --rm and --restart. Whoever notices first does it
 * (conmon's exit command `tspod container cleanup`, a foreground run, stop, ps); it is
 * idempotent and runs under the store lock.
 */
import type { Engine } from '../engine.js';
import type { ContainerRecord, ContainersState } from '../../store/container-store.js';
import { conmonAlive, readExitCode } from '../../namespaces/conmon.js';
import { unmount } from '../../namespaces/mounts.js';
import { detachNetwork } from '../../namespaces/network.js';
import { runtimeDelete } from '../../namespaces/oci-runtime.js';
import { removeTree } from '../../namespaces/extract.js';
import { isActive, requireContainer } from './lookup.js';
import { startContainer } from './start.js';
import { runtimeContext } from './runtime-context.js';
import { containerEvent, recordEvent } from '../events.js';

/** Whether an active container's process has ended (its exit file exists or its monitor died). */
export async function hasExited(engine: Engine, c: ContainerRecord): Promise<boolean> {
  if (!isActive(c)) return false;
  const { runDir } = engine.containers.containerPaths(c.id);
  return (await readExitCode(runDir, c.id)) !== undefined || !conmonAlive(c.state.conmonPid);
}

export type AfterExit = 'none' | 'removed' | 'restart';

/** Releases what a stopped container held; state must be the locked, fresh state. */
async function finalize(engine: Engine, state: ContainersState, c: ContainerRecord): Promise<AfterExit> {
  const paths = engine.containers.containerPaths(c.id);
  const rc = await runtimeContext(engine, c);
  const code = await readExitCode(paths.runDir, c.id);
  if (c.state.status !== 'exited' && c.state.status !== 'created') {
    c.state.status = 'exited';
    c.state.exitCode = code ?? 255;
    c.state.finishedAt = new Date().toISOString();
    if (code === undefined) c.state.error = 'the container monitor died without recording an exit code';
    // Here only: the status changes once per exit, under the lock, whoever noticed it.
    await recordEvent(engine, containerEvent(c, 'die', { exitCode: String(c.state.exitCode) }));
  }
  if (c.state.networkPid) {
    await detachNetwork({ helperPid: c.state.networkPid, ip: '', gateway: '', dns: '', mode: c.config.network }).catch(() => undefined);
    c.state.networkPid = 0;
  }
  // Independent of each other, so in parallel: each is a trip into the namespace.
  await Promise.all([runtimeDelete(rc, c.id, { force: true }), unmount(rc.ns, paths.merged)]);
  c.state.mounted = false;
  if (c.config.autoRemove && !c.state.restarting) {
    await removeFiles(engine, c);
    state.containers = state.containers.filter((x) => x !== c);
    await recordEvent(engine, containerEvent(c, 'destroy'));
    return 'removed';
  }
  const policy = c.config.restartPolicy;
  const wanted =
    !c.state.stoppedByUser &&
    (policy.name === 'always' ||
      policy.name === 'unless-stopped' ||
      (policy.name === 'on-failure' && c.state.exitCode !== 0 && (policy.maximumRetryCount === 0 || c.state.restartCount < policy.maximumRetryCount)));
  return wanted ? 'restart' : 'none';
}

/** Deletes a container's directories (its upper dir holds files of subordinate ids). */
export async function removeFiles(engine: Engine, c: ContainerRecord): Promise<void> {
  const paths = engine.containers.containerPaths(c.id);
  const ns = await engine.namespace();
  await Promise.all([removeTree(ns, paths.home), removeTree(ns, paths.runDir)]);
}

/**
 * `tspod container cleanup ID`, also called by every command that finds an exited container.
 * Returns what happened after the exit; the caller restarts when asked (outside the lock).
 */
export async function cleanupContainer(engine: Engine, input: string): Promise<AfterExit> {
  return engine.containers.update(async (state) => {
    const c = requireContainer(state, input);
    if (isActive(c) && !(await hasExited(engine, c))) return 'none';
    return finalize(engine, state, c);
  });
}

/** Brings every record in line with reality: active containers whose process ended are finalized. */
export async function syncContainers(engine: Engine): Promise<ContainerRecord[]> {
  const snapshot = engine.containers.read();
  const ended: string[] = [];
  for (const c of snapshot.containers) if (await hasExited(engine, c)) ended.push(c.id);
  if (ended.length === 0) return snapshot.containers;
  const restarts: string[] = [];
  const result = await engine.containers.update(async (state) => {
    for (const id of ended) {
      const c = state.containers.find((x) => x.id === id);
      if (c && (await hasExited(engine, c)) && (await finalize(engine, state, c)) === 'restart') restarts.push(id);
    }
    return state.containers;
  });
  // A container that cannot be started again stays exited, its State.Error says why; the
  // command that noticed (ps, inspect...) goes on.
  for (const id of restarts) await restartAfterExit(engine, id).catch(() => undefined);
  return restarts.length ? engine.containers.read().containers : result;
}

/**
 * A restart policy at work: start again, counting, unless the user stopped it meanwhile; a
 * failure is also kept in State.Error.
 */
export async function restartAfterExit(engine: Engine, id: string): Promise<void> {
  try {
    await startContainer(engine, id, { byRestartPolicy: true });
  } catch (e) {
    await engine.containers.update((state) => {
      const c = state.containers.find((x) => x.id === id);
      if (c) c.state.error = e instanceof Error ? e.message : String(e);
    });
    throw e;
  }
}
