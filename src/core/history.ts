/**
 * `history IMAGE`: the image config's history, newest first, each entry with the size of the
 * layer it made (0 for empty_layer entries). As Docker shows a pulled image, only the top entry
 * has an ID; the others are <missing>. An image whose config has no history (some imported
 * ones) gets one entry per layer.
 */
import type { Engine } from './engine.js';
import { displayName, requireImage } from './images.js';
import { readImageConfig } from './image-view.js';

export interface HistoryEntry {
  /** the image ID for the top entry, else undefined (<missing>) */
  id?: string;
  /** ISO time, or undefined when the config does not say */
  created?: string;
  createdBy: string;
  size: number;
  comment: string;
  /** the image's names, on the top entry */
  tags: string[];
}

export function imageHistory(engine: Engine, input: string): HistoryEntry[] {
  const state = engine.store.read();
  const { image } = requireImage(engine, state, input);
  const config = readImageConfig(engine, image);
  const sizes = new Map(state.layers.map((l) => [l.diffID, l.size]));
  const layerSizes = image.layers.map((diffID) => sizes.get(diffID) ?? 0);
  const steps = config.history.length
    ? config.history
    : image.layers.map(() => ({ created: config.created ?? image.created, created_by: '', comment: '', empty_layer: false }));
  // Walk from the newest entry down, taking layers from the top as non-empty entries use them.
  let layer = layerSizes.length;
  const entries = [...steps].reverse().map((step, i): HistoryEntry => {
    const size = step.empty_layer || layer === 0 ? 0 : layerSizes[--layer]!;
    return {
      id: i === 0 ? image.id : undefined,
      created: step.created,
      createdBy: step.created_by ?? '',
      size,
      comment: step.comment ?? '',
      tags: i === 0 ? image.names.map(displayName) : [],
    };
  });
  return entries;
}
