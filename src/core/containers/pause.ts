/**
 * pause / unpause. As root the runtime's cgroup freezer does it (runc pause/resume: the whole
 * cgroup at once, processes do not notice). Rootless on cgroup v1 there is no freezer the user
 * may use, so every process in the container's pid namespace gets SIGSTOP (and SIGCONT to
 * unpause); a process that forks meanwhile is caught by listing again until nothing is new.
 */
import type { Engine } from '../engine.js';
import { TspodError, forEachInput } from '../errors.js';
import { containerEvent, recordEvent } from '../events.js';
import type { ContainerRecord } from '../../store/container-store.js';
import { runtimePause, runtimeResume, runtimeState } from '../../namespaces/oci-runtime.js';
import { containerPids, signalPids } from '../../namespaces/processes.js';
import { hasExited } from './exit.js';
import { isActive, requireContainer } from './lookup.js';
import { runtimeContext } from './runtime-context.js';

export type PauseMechanism = 'freezer' | 'signals';

/** As root, the cgroup freezer; rootless (cgroup v1: no delegation), SIGSTOP/SIGCONT. */
export function pauseMechanism(engine: Engine): PauseMechanism {
  return engine.paths.rootless ? 'signals' : 'freezer';
}

/** Rounds of listing and stopping before giving up on a container that forks faster than that. */
const MAX_STOP_ROUNDS = 100;

function stopEveryProcess(initPid: number): void {
  const stopped = new Set<number>();
  for (let round = 0; round < MAX_STOP_ROUNDS; round++) {
    const fresh = containerPids(initPid).filter((pid) => !stopped.has(pid));
    if (fresh.length === 0) return;
    signalPids(fresh, 'SIGSTOP');
    for (const pid of fresh) stopped.add(pid);
  }
  signalPids([...stopped], 'SIGCONT');
  throw new TspodError('its processes kept forking while they were being stopped', 'try again');
}

async function freeze(engine: Engine, c: ContainerRecord): Promise<void> {
  if (pauseMechanism(engine) === 'freezer') await runtimePause(await runtimeContext(engine, c), c.id);
  else stopEveryProcess(c.state.pid);
}

async function thaw(engine: Engine, c: ContainerRecord): Promise<void> {
  if (pauseMechanism(engine) === 'signals') return signalPids(containerPids(c.state.pid), 'SIGCONT');
  const rc = await runtimeContext(engine, c);
  // runc thaws a container itself to SIGKILL it: then it is no longer paused.
  if ((await runtimeState(rc, c.id))?.status === 'paused') await runtimeResume(rc, c.id);
}

export async function pauseContainer(engine: Engine, input: string): Promise<ContainerRecord> {
  const record = await engine.containers.update(async (state) => {
    const c = requireContainer(state, input);
    if (c.state.status === 'paused') throw new TspodError(`container ${input} is already paused`);
    if (!isActive(c) || (await hasExited(engine, c))) throw new TspodError(`container ${input} is not running`, 'start it first');
    try {
      await freeze(engine, c);
    } catch (e) {
      throw e instanceof TspodError ? new TspodError(`cannot pause container ${input}: ${e.line}`) : e;
    }
    c.state.status = 'paused';
    return c;
  });
  await recordEvent(engine, containerEvent(record, 'pause'));
  return record;
}

export async function unpauseContainer(engine: Engine, input: string): Promise<ContainerRecord> {
  const record = await engine.containers.update(async (state) => {
    const c = requireContainer(state, input);
    if (c.state.status !== 'paused') throw new TspodError(`container ${input} is not paused`);
    await thaw(engine, c);
    c.state.status = 'running';
    return c;
  });
  await recordEvent(engine, containerEvent(record, 'unpause'));
  return record;
}

/**
 * For stop, kill -s KILL and rm -f of a paused container: once the signal is sent, the container
 * runs again so that it can receive it (a frozen or stopped process would not act on it until
 * then). A container that is not paused is left alone.
 */
export async function thawAfterSignal(engine: Engine, id: string): Promise<void> {
  await engine.containers.update(async (state) => {
    const c = state.containers.find((x) => x.id === id);
    if (c?.state.status !== 'paused') return;
    await thaw(engine, c);
    c.state.status = 'running';
  });
}

export async function pauseContainers(engine: Engine, inputs: string[], done: (input: string) => void): Promise<void> {
  await forEachInput(inputs, async (input) => {
    await pauseContainer(engine, input);
    done(input);
  });
}

export async function unpauseContainers(engine: Engine, inputs: string[], done: (input: string) => void): Promise<void> {
  await forEachInput(inputs, async (input) => {
    await unpauseContainer(engine, input);
    done(input);
  });
}
