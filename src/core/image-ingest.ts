/**
 * How an image enters the store, whatever it comes from (a registry, an archive, a container's
 * changes): each layer is streamed once into a staging dir, its blob written and hashed, its
 * content decompressed, hashed, sanitized and extracted inside the user namespace; then
 * `commitImage` moves blobs and layers into place and records the image, all under the lock.
 * Digests given by the source are verified; missing ones are computed.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompressor } from './compression.js';
import type { Engine } from './engine.js';
import { TspodError } from './errors.js';
import { assignName, recordMovedNames, type MovedName } from './images.js';
import type { ImageConfig } from './image-view.js';
import { sanitizeLayer } from './layer-sanitize.js';
import { MediaType, digestOf, digestingStream, layerCompression, verifyingStream, type DigestingStream, type LayerCompression } from './registry/index.js';
import { extractLayer, removeTree } from '../namespaces/extract.js';
import { writeFileAtomic } from '../store/atomic.js';
import type { ImageRecord, LayerRecord } from '../store/image-store.js';

export interface LayerInput {
  /** the blob's bytes as they will be stored: compressed or not, as mediaType says */
  /**
   * A function when opening the stream is part of the work (a download): it is called once the
   * staging dir exists, so a process killed mid-download leaves a dir the next run can clean.
   */
  stream: Readable | (() => Promise<Readable>);
  mediaType: string;
  /** expected digest and size of the blob, verified when given */
  digest?: string;
  size?: number;
  /** expected digest of the uncompressed content, verified when given */
  diffID?: string;
  /** where the layer comes from, for error messages */
  label: string;
}

/** A layer extracted into `staging` (blob at staging/blob, files at staging/diff). */
export interface StagedLayer {
  staging: string;
  layer: LayerRecord;
}

/** Verifies against what is expected, or learns the digest when nothing is. */
function hasher(expected: string | undefined, size?: number): { stream: Transform; digest: () => string } {
  if (expected) return { stream: verifyingStream(expected, size), digest: () => expected };
  const stream: DigestingStream = digestingStream();
  return { stream, digest: () => stream.digest() };
}

export async function stageLayer(engine: Engine, input: LayerInput): Promise<StagedLayer> {
  const given = typeof input.stream === 'function' ? undefined : input.stream;
  const ns = await engine.namespace().catch((e: unknown) => {
    given?.destroy();
    throw e;
  });
  const staging = engine.store.makeTempDir();
  const diffDir = path.join(staging, 'diff');
  mkdirSync(diffDir);
  try {
    const stream = given ?? (await (input.stream as () => Promise<Readable>)());
    const blob = hasher(input.digest, input.size);
    const content = hasher(input.diffID);
    const blobCounter = digestingStream();
    const contentCounter = digestingStream();
    const verified = stream.pipe(blob.stream);
    stream.on('error', (e) => verified.destroy(e));
    const toBlob = pipeline(verified, blobCounter, createWriteStream(path.join(staging, 'blob')));
    const sanitized = sanitizeLayer({ digest: input.digest ?? input.label, rootless: ns.rootless });
    const toLayer = pipeline(verified, decompressor(input.mediaType), content.stream, contentCounter, sanitized);
    const results = await Promise.allSettled([toBlob, toLayer, extractLayer(ns, sanitized, diffDir)]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      stream.destroy();
      throw failed.reason;
    }
    return {
      staging,
      layer: {
        diffID: content.digest(),
        digest: blob.digest(),
        mediaType: input.mediaType,
        compressedSize: blobCounter.size(),
        size: contentCounter.size(),
      },
    };
  } catch (e) {
    await removeTree(ns, staging).catch(() => undefined);
    throw e;
  }
}

/** A blob alone, verified into `staging` (staging/blob): its layer is in the store already. */
export interface StagedBlob {
  staging: string;
  digest: string;
}

/**
 * Stores the bytes of a blob whose layer is extracted already, from another blob (the same
 * content compressed otherwise): no extraction, only the digest and size verified.
 */
export async function stageBlob(engine: Engine, input: { stream: () => Promise<Readable>; digest: string; size?: number }): Promise<StagedBlob> {
  const staging = engine.store.makeTempDir();
  try {
    await pipeline(await input.stream(), verifyingStream(input.digest, input.size), createWriteStream(path.join(staging, 'blob')));
    return { staging, digest: input.digest };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

export async function discardStaged(engine: Engine, staged: Array<StagedLayer | StagedBlob>): Promise<void> {
  const ns = await engine.namespace();
  await Promise.all(staged.map((s) => removeTree(ns, s.staging).catch(() => undefined)));
}

export interface NewImage {
  configBytes: Buffer;
  config: ImageConfig;
  manifestBytes: Buffer;
  manifestMediaType: string;
  /** the image's layers, base first: staged now or already in the store */
  layers: Array<Pick<LayerRecord, 'diffID' | 'digest'>>;
  staged: StagedLayer[];
  /** blobs the manifest names for layers the store has extracted from other blobs */
  blobs?: StagedBlob[];
  /** fully qualified tagged names to assign, taken from any image that had them */
  names: string[];
  /** fully qualified digested names (repo@manifest-digest) */
  digestNames: string[];
}

/**
 * Moves staged layers and blobs into place and records the image, all under the lock (an image
 * that loses a name to it gets its untag event). Returns the record and staging dirs left over
 * (a layer another process committed first) for deletion.
 */
export async function commitImage(engine: Engine, c: NewImage): Promise<{ image: ImageRecord; leftovers: string[] }> {
  const { store } = engine;
  const leftovers: string[] = [];
  const id = digestOf(c.configBytes);
  const manifestDigest = digestOf(c.manifestBytes);
  const moved: MovedName[] = [];
  const image = await store.update((state) => {
    // Every blob the manifest names is kept, also where the layer came from another blob first.
    for (const { staging, digest } of [...c.staged.map((s) => ({ staging: s.staging, digest: s.layer.digest })), ...(c.blobs ?? [])]) {
      if (!store.hasBlob(digest)) renameSync(path.join(staging, 'blob'), store.blobPath(digest));
    }
    for (const { staging } of c.blobs ?? []) leftovers.push(staging);
    for (const { layer, staging } of c.staged) {
      if (store.hasLayer(state, layer.diffID)) {
        leftovers.push(staging);
        continue;
      }
      const home = store.layerHome(layer.diffID);
      if (existsSync(home)) leftovers.push(store.retire(home));
      renameSync(staging, home);
      state.layers = state.layers.filter((l) => l.diffID !== layer.diffID);
      state.layers.push(layer);
    }
    for (const layer of c.layers) {
      if (!store.hasLayer(state, layer.diffID)) throw new TspodError(`layer ${layer.diffID} vanished from the store while the image was stored`, 'try again');
    }
    if (!store.hasBlob(id)) writeFileAtomic(store.blobPath(id), c.configBytes);
    if (!store.hasBlob(manifestDigest)) writeFileAtomic(store.blobPath(manifestDigest), c.manifestBytes);
    let record = state.images.find((i) => i.id === id);
    if (!record) {
      const sizes = new Map(state.layers.map((l) => [l.diffID, l.size]));
      record = {
        id,
        names: [],
        digests: [],
        manifestDigest,
        manifestMediaType: c.manifestMediaType,
        layers: c.layers.map((l) => l.diffID),
        size: c.layers.reduce((sum, l) => sum + (sizes.get(l.diffID) ?? 0), 0),
        created: c.config.created ?? new Date(0).toISOString(),
        added: new Date().toISOString(),
      } satisfies ImageRecord;
      state.images.push(record);
    }
    for (const name of c.names) moved.push(...assignName(state, record, name));
    for (const digestName of c.digestNames) if (!record.digests.includes(digestName)) record.digests.push(digestName);
    return record;
  });
  await recordMovedNames(engine, moved);
  return { image, leftovers };
}

export type ManifestFormat = 'oci' | 'v2s2';

const LAYER_TYPES: Record<ManifestFormat, Record<LayerCompression, string>> = {
  oci: { gzip: 'application/vnd.oci.image.layer.v1.tar+gzip', zstd: 'application/vnd.oci.image.layer.v1.tar+zstd', none: 'application/vnd.oci.image.layer.v1.tar' },
  v2s2: { gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip', zstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd', none: 'application/vnd.docker.image.rootfs.diff.tar' },
};

/** The media type of a layer of this compression in a manifest of this format. */
export function layerMediaType(compression: LayerCompression, format: ManifestFormat): string {
  return LAYER_TYPES[format][compression];
}

/** A manifest for an image made here (commit, import, load): config and layers as stored. */
export function buildManifest(configBytes: Buffer, layers: Array<Pick<LayerRecord, 'digest' | 'mediaType' | 'compressedSize'>>, format: ManifestFormat = 'oci'): { bytes: Buffer; mediaType: string } {
  const oci = format === 'oci';
  const mediaType = oci ? MediaType.ociManifest : MediaType.dockerManifest;
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: oci ? MediaType.ociConfig : MediaType.dockerConfig, digest: digestOf(configBytes), size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: layerMediaType(layerCompression(l.mediaType), format), digest: l.digest, size: l.compressedSize })),
  };
  return { bytes: Buffer.from(JSON.stringify(manifest)), mediaType };
}
