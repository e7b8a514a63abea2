/** stop, kill, wait, rm, rename and prune: Docker's semantics without a daemon. */
import type { Engine } from '../engine.js';
import { TspodError, failureOf, forEachInput, isTspodError, throwCollected } from '../errors.js';
import type { ContainerRecord, ContainersState } from '../../store/container-store.js';
import { waitForExit, readExitCode } from '../../namespaces/conmon.js';
import { ContainerNotRunningError, runtimeKill } from '../../namespaces/oci-runtime.js';
import { PARALLEL_RUNTIME_CALLS, cleanupContainer, cleanupContainers, finalizeAll, hasExited, removeAll, syncContainers } from './exit.js';
import { startContainer } from './start.js';
import { VALID_NAME } from './names.js';
import { findContainer, isActive, requireContainer } from './lookup.js';
import { runtimeContext } from './runtime-context.js';
import { parseSignal } from '../run-options.js';
import { containerMatcher } from './list.js';
import { matchesPruneFilter, parsePruneFilters } from '../prune-filters.js';
import { thawAfterSignal } from './pause.js';
import { containerEvent, recordEvent, recordEvents, timed, type TspodEvent } from '../events.js';
import { runLimited } from '../run-limited.js';

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

/** The runtime's kill; a container that ended on its own meanwhile is fine (a wait sees its exit file). */
async function sendSignal(engine: Engine, c: ContainerRecord, signal: number | string): Promise<void> {
  try {
    await runtimeKill(await runtimeContext(engine, c), c.id, signal, { all: false });
  } catch (e) {
    if (!(e instanceof ContainerNotRunningError)) throw e;
  }
}

/**
 * Sends each container its signal (runtime kills side by side), then thaws the paused ones: a
 * paused container acts on the signal once it runs again. Why it failed, by ID, for each that did.
 */
async function signalAll(engine: Engine, cs: ContainerRecord[], signalOf: (c: ContainerRecord) => number | string): Promise<Map<string, TspodError>> {
  const results = await runLimited(cs, PARALLEL_RUNTIME_CALLS, (c) => failureOf(() => sendSignal(engine, c, signalOf(c))));
  // One after the other: each thaw updates the store, whose lock is re-entrant within a process.
  for (const [i, c] of cs.entries()) {
    if (!results[i] && c.state.status === 'paused') results[i] = await failureOf(() => thawAfterSignal(engine, c.id));
  }
  return failuresById(cs, results);
}

function failuresById(cs: ContainerRecord[], results: (TspodError | undefined)[]): Map<string, TspodError> {
  const failures = new Map<string, TspodError>();
  cs.forEach((c, i) => results[i] && failures.set(c.id, results[i]!));
  return failures;
}

/** Several inputs resolved at once: each one's container ID, or its error; the containers, once each. */
interface Resolved {
  ids: (string | undefined)[];
  errors: (TspodError | undefined)[];
  containers: ContainerRecord[];
}

function resolveInputs(state: ContainersState, inputs: string[]): Resolved {
  const resolved: Resolved = { ids: [], errors: [], containers: [] };
  inputs.forEach((input, i) => {
    try {
      const c = requireContainer(state, input);
      resolved.ids[i] = c.id;
      if (!resolved.containers.some((x) => x.id === c.id)) resolved.containers.push(c);
    } catch (e) {
      if (!isTspodError(e)) throw e;
      resolved.errors[i] = e;
    }
  });
  return resolved;
}

/** Tells `done` the inputs that went through, in the order given; then the others' errors, together. */
function reportInputs(inputs: string[], resolved: Resolved, failures: Map<string, TspodError>, done: (input: string) => void): void {
  const errors = inputs.map((_, i) => resolved.errors[i] ?? failures.get(resolved.ids[i]!));
  inputs.forEach((input, i) => errors[i] || done(input));
  throwCollected(errors.filter((e) => e !== undefined));
}

/** Docker's stop: the stop signal, then SIGKILL after `timeoutSec`. A stopped container is fine. */
export async function stopContainer(engine: Engine, input: string, timeoutSec?: number): Promise<void> {
  await stopContainers(engine, [input], timeoutSec);
}

/**
 * stop for several containers at once, as Podman does: every stop signal first, then all of
 * them waited for side by side (each with its own timeout, SIGKILL after it), then all cleaned
 * up under one lock. `stopped` hears the inputs that stopped, in the order given; the others'
 * errors come together afterwards, one line each.
 */
export async function stopContainers(engine: Engine, inputs: string[], timeoutSec?: number, stopped: (input: string) => void = () => undefined): Promise<void> {
  // Also those not running: they may be between two runs of their restart policy.
  const resolved = await engine.containers.update((state) => {
    const r = resolveInputs(state, inputs);
    for (const c of r.containers) c.state.stoppedByUser = true;
    return r;
  });
  const active = resolved.containers.filter(isActive);
  const timeoutOf = (c: ContainerRecord) => timeoutSec ?? c.config.stopTimeout;
  const failures = await signalAll(engine, active, (c) => (timeoutOf(c) > 0 ? c.config.stopSignal : 'KILL'));
  const signaled = active.filter((c) => !failures.has(c.id));
  const waits = await Promise.all(
    signaled.map((c) =>
      failureOf(async () => {
        const timeout = timeoutOf(c);
        if (timeout > 0 && (await exitWithin(engine, c, timeout * 1000)) !== undefined) return;
        // Not paused any more (signalAll thawed it), or SIGKILL was its first signal.
        if (timeout > 0) await sendSignal(engine, c, 'KILL');
        await exitWithin(engine, c);
      }),
    ),
  );
  for (const [id, e] of failuresById(signaled, waits)) failures.set(id, e);
  const exited = signaled.filter((c) => !failures.has(c.id));
  // An --rm container may be gone by then (its own cleanup removed it): stopped all the same.
  for (const [id, outcome] of await cleanupContainers(engine, exited.map((c) => c.id))) if (isTspodError(outcome)) failures.set(id, outcome);
  await recordEvents(
    engine,
    exited.filter((c) => !failures.has(c.id)).map((c) => timed(containerEvent(c, 'stop'))),
  );
  reportInputs(inputs, resolved, failures, stopped);
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

/** How long rm -f waits for a container to die of SIGKILL. */
const KILL_WAIT_MS = 10_000;

function runningError(input: string, c: ContainerRecord): TspodError {
  return new TspodError(`cannot remove container ${input}: it is ${c.state.status}`, 'stop it first or use rm -f', EXIT_CONTAINER_RUNNING);
}

/**
 * Removes several containers at once: the running ones (with `force`) killed side by side, then
 * under one lock all of them released (see finalizeAll) and their directories deleted in one
 * trip into the namespace, the store written once. `removed` hears the inputs removed, in the
 * order given; the others' errors come together afterwards, one line each. A container that
 * cannot be removed keeps its record.
 */
export async function removeContainers(engine: Engine, inputs: string[], opts: RemoveOptions, removed: (input: string) => void = () => undefined): Promise<void> {
  const resolved = resolveInputs(engine.containers.read(), inputs);
  const failures = new Map<string, TspodError>();
  const inputOf = (id: string) => inputs[resolved.ids.indexOf(id)];
  const running = resolved.containers.filter(isActive);
  if (!opts.force) for (const c of running) failures.set(c.id, runningError(inputOf(c.id), c));
  if (opts.force && running.length > 0) {
    await engine.containers.update((state) => {
      for (const c of state.containers) if (running.some((r) => r.id === c.id)) c.state.stoppedByUser = true;
    });
    for (const [id, e] of await signalAll(engine, running, () => 'KILL')) failures.set(id, e);
    await Promise.all(running.filter((c) => !failures.has(c.id)).map((c) => exitWithin(engine, c, KILL_WAIT_MS).catch(() => undefined)));
  }
  const doomed = resolved.containers.filter((c) => !failures.has(c.id)).map((c) => c.id);
  await engine.containers.update(async (state) => {
    const ready: ContainerRecord[] = [];
    for (const id of doomed) {
      // Gone meanwhile (its --rm, another rm): removed all the same.
      const c = state.containers.find((x) => x.id === id);
      if (!c) continue;
      if (isActive(c) && !(await hasExited(engine, c))) {
        const error = opts.force
          ? new TspodError(`cannot remove container ${inputOf(id)}: it still runs ${KILL_WAIT_MS / 1000} s after SIGKILL`, 'try again')
          : runningError(inputOf(id), c);
        failures.set(id, error);
      } else ready.push(c);
    }
    const events: TspodEvent[] = [];
    const finalized = await finalizeAll(engine, state, ready, events);
    const left = ready.filter((c) => {
      const outcome = finalized.get(c.id);
      if (isTspodError(outcome)) failures.set(c.id, outcome);
      return !isTspodError(outcome) && outcome !== 'removed';
    });
    for (const [id, e] of await removeAll(engine, state, left, events)) failures.set(id, e);
    await recordEvents(engine, events);
  });
  reportInputs(inputs, resolved, failures, removed);
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
