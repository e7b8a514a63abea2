/**
 * After a container's process ends: record its exit code, unmount its rootfs, delete it from the
 * runtime, stop its network helper, then apply --rm and --restart. Whoever notices first does it
 * (conmon's exit command `tspod container cleanup`, a foreground run, stop, ps); it is
 * idempotent and runs under the store lock.
 */
import type { Engine } from '../engine.js';
import type { ContainerRecord, ContainersState } from '../../store/container-store.js';
import { conmonAlive, readExitCode } from '../../namespaces/conmon.js';
import { mountsWithin, unmountAll } from '../../namespaces/mounts.js';
import { detachNetwork } from '../../namespaces/network.js';
import { runtimeDelete } from '../../namespaces/oci-runtime.js';
import { removeTrees } from '../../namespaces/extract.js';
import { isActive, requireContainer } from './lookup.js';
import { startContainer } from './start.js';
import { runtimeContext } from './runtime-context.js';
import { containerEvent, recordEvents, timed, type TspodEvent } from '../events.js';
import { TspodError, failureOf, isTspodError } from '../errors.js';
import { runLimited } from '../run-limited.js';

/** Whether an active container's process has ended (its exit file exists or its monitor died). */
export async function hasExited(engine: Engine, c: ContainerRecord): Promise<boolean> {
  if (!isActive(c)) return false;
  const { runDir } = engine.containers.containerPaths(c.id);
  return (await readExitCode(runDir, c.id)) !== undefined || !conmonAlive(c.state.conmonPid);
}

export type AfterExit = 'none' | 'removed' | 'restart';

/** What comes next for a container after its exit, or why what it held could not be released. */
export type Outcome = AfterExit | TspodError;

/** Runtime calls (delete, kill) at a time: each one is a runc process, busy on a CPU for a moment. */
export const PARALLEL_RUNTIME_CALLS = 4;

/**
 * Releases what stopped containers held, all of them together: exit status and die event,
 * network helper, the runtime's state (deletes side by side) and the rootfs mounts (one umount
 * for all); then --rm and --restart. `state` must be the locked, fresh state; the events go to
 * `events`. A container whose runtime state cannot be deleted keeps its record, exited.
 */
export async function finalizeAll(engine: Engine, state: ContainersState, cs: ContainerRecord[], events: TspodEvent[]): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  if (cs.length === 0) return outcomes;
  for (const c of cs) {
    if (c.state.status === 'exited' || c.state.status === 'created') continue;
    const code = await readExitCode(engine.containers.containerPaths(c.id).runDir, c.id);
    c.state.status = 'exited';
    c.state.exitCode = code ?? 255;
    c.state.finishedAt = new Date().toISOString();
    if (code === undefined) c.state.error = 'the container monitor died without recording an exit code';
    // Here only: the status changes once per exit, under the lock, whoever noticed it.
    events.push(timed(containerEvent(c, 'die', { exitCode: String(c.state.exitCode) })));
  }
  await Promise.all(
    cs.map(async (c) => {
      if (!c.state.networkPid) return;
      await detachNetwork({ helperPid: c.state.networkPid, ip: '', gateway: '', dns: '', mode: c.config.network }).catch(() => undefined);
      c.state.networkPid = 0;
    }),
  );
  // Independent of each other, so side by side: each is a trip into the namespace.
  const [deleteFailures] = await Promise.all([
    runLimited(cs, PARALLEL_RUNTIME_CALLS, (c) => failureOf(async () => runtimeDelete(await runtimeContext(engine, c), c.id, { force: true }))),
    unmountAll(await engine.namespace(), cs.map((c) => engine.containers.containerPaths(c.id).merged)),
  ]);
  const autoRemoved: ContainerRecord[] = [];
  cs.forEach((c, i) => {
    c.state.mounted = false;
    const failure = deleteFailures[i];
    if (failure) outcomes.set(c.id, failure);
    else if (c.config.autoRemove && !c.state.restarting) autoRemoved.push(c);
    else outcomes.set(c.id, restartWanted(c) ? 'restart' : 'none');
  });
  const notRemoved = await removeAll(engine, state, autoRemoved, events);
  for (const c of autoRemoved) outcomes.set(c.id, notRemoved.get(c.id) ?? 'removed');
  return outcomes;
}

function restartWanted(c: ContainerRecord): boolean {
  const policy = c.config.restartPolicy;
  return (
    !c.state.stoppedByUser &&
    (policy.name === 'always' ||
      policy.name === 'unless-stopped' ||
      (policy.name === 'on-failure' && c.state.exitCode !== 0 && (policy.maximumRetryCount === 0 || c.state.restartCount < policy.maximumRetryCount)))
  );
}

/**
 * Deletes stopped containers' directories (their upper dirs hold files of subordinate ids) in
 * one trip into the namespace and drops their records from `state` (locked, fresh), a destroy
 * event each. A container with something still mounted in its directories is left whole (rm
 * would stop at the mount, half done); one whose files could not all be removed keeps its
 * record. Why, by ID.
 */
export async function removeAll(engine: Engine, state: ContainersState, cs: ContainerRecord[], events: TspodEvent[]): Promise<Map<string, TspodError>> {
  const failures = new Map<string, TspodError>();
  if (cs.length === 0) return failures;
  const ns = await engine.namespace();
  const treesOf = (c: ContainerRecord) => {
    const paths = engine.containers.containerPaths(c.id);
    return [paths.home, paths.runDir];
  };
  const mounted = mountsWithin(ns, cs.flatMap(treesOf));
  const free = cs.filter((c) => {
    const tree = treesOf(c).find((t) => mounted.has(t));
    if (tree) failures.set(c.id, new TspodError(`cannot remove ${tree}: ${mounted.get(tree)} is mounted`, 'unmount it, then remove the container again'));
    return !tree;
  });
  const failed = await removeTrees(ns, free.flatMap(treesOf));
  const removed = new Set<string>();
  for (const c of free) {
    const failure = treesOf(c)
      .map((t) => failed.get(t))
      .find((f) => f !== undefined);
    if (failure) {
      failures.set(c.id, failure);
      continue;
    }
    removed.add(c.id);
    events.push(timed(containerEvent(c, 'destroy')));
  }
  state.containers = state.containers.filter((x) => !removed.has(x.id));
  return failures;
}

/** finalizeAll with its events recorded in one write. */
async function finalizeRecorded(engine: Engine, state: ContainersState, cs: ContainerRecord[]): Promise<Map<string, Outcome>> {
  const events: TspodEvent[] = [];
  const outcomes = await finalizeAll(engine, state, cs, events);
  await recordEvents(engine, events);
  return outcomes;
}

/**
 * `tspod container cleanup ID`, also called by every command that finds an exited container.
 * Returns what happened after the exit; the caller restarts when asked (outside the lock).
 */
export async function cleanupContainer(engine: Engine, input: string): Promise<AfterExit> {
  const outcome = await engine.containers.update(async (state): Promise<Outcome> => {
    const c = requireContainer(state, input);
    if (isActive(c) && !(await hasExited(engine, c))) return 'none';
    return (await finalizeRecorded(engine, state, [c])).get(c.id)!;
  });
  if (isTspodError(outcome)) throw outcome;
  return outcome;
}

/**
 * Finalizes those of the containers (IDs) that are active and whose process has ended, all
 * under one lock: what comes next for each ('none' for the others, 'removed' for one gone).
 */
export async function cleanupContainers(engine: Engine, ids: string[]): Promise<Map<string, Outcome>> {
  return engine.containers.update(async (state) => {
    const ended: ContainerRecord[] = [];
    for (const c of state.containers) if (ids.includes(c.id) && (await hasExited(engine, c))) ended.push(c);
    const outcomes = await finalizeRecorded(engine, state, ended);
    for (const id of ids) if (!outcomes.has(id)) outcomes.set(id, state.containers.some((c) => c.id === id) ? 'none' : 'removed');
    return outcomes;
  });
}

/** Brings every record in line with reality: active containers whose process ended are finalized. */
export async function syncContainers(engine: Engine): Promise<ContainerRecord[]> {
  const snapshot = engine.containers.read();
  const ended: string[] = [];
  for (const c of snapshot.containers) if (await hasExited(engine, c)) ended.push(c.id);
  if (ended.length === 0) return snapshot.containers;
  // One that cannot be released stays exited, its runtime state with it (rm tries again and
  // says why); the command that noticed (ps, inspect...) goes on.
  const outcomes = await cleanupContainers(engine, ended);
  const restarts = ended.filter((id) => outcomes.get(id) === 'restart');
  // A container that cannot be started again stays exited, its State.Error says why.
  for (const id of restarts) await restartAfterExit(engine, id).catch(() => undefined);
  return engine.containers.read().containers;
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
