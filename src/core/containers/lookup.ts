/** Finding containers by name, full ID or unique ID prefix, as Docker does. */
import { TspodError } from '../errors.js';
import type { ContainerRecord, ContainersState } from '../../store/container-store.js';

/** Podman's exit code for "no such container" in rm, and ours wherever several are named. */
export const EXIT_NO_SUCH_CONTAINER = 1;

export function noSuchContainer(input: string): TspodError {
  return new TspodError(`no such container: ${input}`, undefined, EXIT_NO_SUCH_CONTAINER);
}

export function findContainer(state: ContainersState, input: string): ContainerRecord | undefined {
  const byName = state.containers.find((c) => c.name === input || c.id === input);
  if (byName) return byName;
  if (!/^[a-f0-9]+$/.test(input)) return undefined;
  const matches = state.containers.filter((c) => c.id.startsWith(input));
  if (matches.length > 1) throw new TspodError(`short ID "${input}" is ambiguous: it matches ${matches.length} containers`, 'give more characters');
  return matches[0];
}

export function requireContainer(state: ContainersState, input: string): ContainerRecord {
  const c = findContainer(state, input);
  if (!c) throw noSuchContainer(input);
  return c;
}

export function isActive(c: ContainerRecord): boolean {
  return c.state.status === 'running' || c.state.status === 'paused' || c.state.status === 'stopping';
}
