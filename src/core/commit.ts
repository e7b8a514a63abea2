/**
 * tspod commit: a container's changes (its overlay upper dir) become one more layer on top of its
 * image; the config is the image's with --change applied, a new created time, author and
 * history entry. storeLayeredImage is shared with import.
 */
import type { Engine } from './engine.js';
import { TspodError } from './errors.js';
import { recordEvent } from './events.js';
import { hasExited } from './containers/exit.js';
import { findContainer } from './containers/lookup.js';
import { pauseContainer, unpauseContainer } from './containers/pause.js';
import { parseChanges } from './image-changes.js';
import { buildManifest, commitImage, discardStaged, layerMediaType, stageLayer, type ManifestFormat, type StagedLayer } from './image-ingest.js';
import { newImageName, purge } from './images.js';
import { ImageConfig } from './image-view.js';
import { upperDirLayer } from './upper-layer.js';
import type { LayerRecord } from '../store/image-store.js';

export interface CommitOptions {
  author?: string;
  message?: string;
  /** Dockerfile instructions, see image-changes.ts */
  changes: string[];
  format: ManifestFormat;
  /** REPOSITORY[:TAG] for the new image */
  name?: string;
  /** freeze a running container while its changes are read (Docker's default) */
  pause: boolean;
}

export interface NewLayerImage {
  /** the complete image config, the new layer's diffID last in rootfs.diff_ids */
  config: Record<string, unknown>;
  /** the layers below the new one, base first */
  baseLayers: LayerRecord[];
  staged: StagedLayer;
  format: ManifestFormat;
  names: string[];
}

/** Records an image made here of stored layers plus one staged layer; returns its ID. */
export async function storeLayeredImage(engine: Engine, image: NewLayerImage): Promise<string> {
  try {
    const configBytes = Buffer.from(JSON.stringify(image.config));
    const layers = [...image.baseLayers, image.staged.layer];
    const manifest = buildManifest(configBytes, layers, image.format);
    const { image: record, leftovers } = await commitImage(engine, {
      configBytes,
      config: ImageConfig.parse(image.config),
      manifestBytes: manifest.bytes,
      manifestMediaType: manifest.mediaType,
      layers,
      staged: [image.staged],
      names: image.names,
      digestNames: [],
    });
    await purge(engine, leftovers);
    return record.id;
  } catch (e) {
    await discardStaged(engine, [image.staged]);
    throw e;
  }
}

/** A history entry; optional fields are left out when empty, as Docker writes them. */
export function historyEntry(created: string, createdBy: string, author?: string, comment?: string): Record<string, string> {
  return { created, created_by: createdBy, ...(author ? { author } : {}), ...(comment ? { comment } : {}) };
}

/**
 * Commits container `input`. A running container is paused while its changes are read (unless
 * opts.pause is false), so that files it is writing are not caught half-written.
 */
export async function commitContainer(engine: Engine, input: string, opts: CommitOptions): Promise<string> {
  // Everything the user gave is checked before anything is read or written.
  const applyChanges = parseChanges(opts.changes);
  const names = opts.name ? [newImageName(opts.name)] : [];
  const container = findContainer(engine.containers.read(), input);
  if (!container) throw new TspodError(`no such container: ${input}`);
  const state = engine.store.read();
  const image = state.images.find((i) => i.id === container.imageId);
  const baseLayers = image?.layers.map((diffID) => state.layers.find((l) => l.diffID === diffID));
  if (!image || !baseLayers || baseLayers.some((l) => !l)) {
    throw new TspodError(`the image of container ${container.name} (${container.imageId}) is no longer in the store`, 'pull it again');
  }
  const base = JSON.parse(engine.store.readBlob(image.id).toString('utf8')) as Record<string, unknown>;
  const baseConfig = ImageConfig.parse(base);

  const ns = await engine.namespace();
  const { upper } = engine.containers.containerPaths(container.id);
  const pause = opts.pause && container.state.status === 'running' && !(await hasExited(engine, container));
  if (pause) await pauseContainer(engine, container.id);
  let staged: StagedLayer;
  try {
    staged = await stageLayer(engine, {
      stream: upperDirLayer(ns, upper, `the changes of container ${container.name}`),
      mediaType: layerMediaType('gzip', opts.format),
      label: `the changes of container ${container.name}`,
    });
  } finally {
    if (pause) await unpauseContainer(engine, container.id);
  }
  const created = new Date().toISOString();
  const config: Record<string, unknown> = {
    ...base,
    created,
    config: applyChanges(base.config as Record<string, unknown> | undefined),
    rootfs: { type: 'layers', diff_ids: [...baseConfig.rootfs.diff_ids, staged.layer.diffID] },
    history: [...(Array.isArray(base.history) ? base.history : []), historyEntry(created, container.config.args.join(' '), opts.author, opts.message)],
  };
  delete config.author;
  if (opts.author) config.author = opts.author;
  const id = await storeLayeredImage(engine, { config, baseLayers: baseLayers as LayerRecord[], staged, format: opts.format, names });
  await recordEvent(engine, {
    type: 'container',
    action: 'commit',
    id: container.id,
    name: container.name,
    image: container.imageName,
    attributes: { imageID: id, ...(names[0] ? { imageName: names[0] } : {}), ...(opts.message ? { comment: opts.message } : {}) },
  });
  return id;
}
