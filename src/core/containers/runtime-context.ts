/** The OCI runtime a container uses, inside the engine's namespace. */
import type { Engine } from '../engine.js';
import { findRuntime } from '../../namespaces/runtime.js';
import type { RuntimeContext } from '../../namespaces/oci-runtime.js';
import type { ContainerRecord } from '../../store/container-store.js';

export async function runtimeContext(engine: Engine, record: ContainerRecord): Promise<RuntimeContext> {
  const [ns, runtime] = await Promise.all([engine.namespace(), findRuntime(record.config.runtime, { runroot: engine.paths.runroot })]);
  return { ns, runtime, stateRoot: engine.containers.runtimeRoot() };
}
