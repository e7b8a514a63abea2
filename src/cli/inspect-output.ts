/** Prints what `inspect` found (JSON array or a template per object) and then reports what it did not. */
import type { Engine } from '../core/engine.js';
import { inspectObjects, type InspectType } from '../core/inspect.js';
import { renderInspect } from '../core/template/index.js';

export async function printInspect(engine: Engine, inputs: string[], format: string | undefined, type: InspectType): Promise<void> {
  const { found, error } = await inspectObjects(engine, inputs, type);
  // Like Docker and Podman: the JSON array is printed even when empty; a template prints per object.
  if (found.length || format === undefined) process.stdout.write(renderInspect(format, found));
  if (error) throw error;
}
