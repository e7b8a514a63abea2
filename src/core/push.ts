/**
 * tspod push: uploads a stored image to a registry. Blobs the repository has already are
 * skipped (HEAD), blobs another repository of that registry holds (known from the names the
 * store recorded) are mounted, the others uploaded from the store's blob files (one PUT, or PATCH
 * chunks for large ones), and the manifest goes last. Without conversion the stored manifest
 * bytes are pushed, so the image keeps its digest; --format and --compression-format rewrite
 * the manifest and recompress layers through a temporary file, streaming.
 */
import { createReadStream, createWriteStream, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Duplex, PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { createGzip } from 'node:zlib';
import type { Engine } from './engine.js';
import { TspodError } from './errors.js';
import { recordEvent } from './events.js';
import { requireImage } from './images.js';
import { decompressor, zstdStream } from './compression.js';
import type { Progress } from './progress.js';
import { registryClient, type RegistryAccessOptions } from './pull.js';
import { runLimited } from './run-limited.js';
import { candidateReferences, registryEntry } from './registries.js';
import { type ImageReference, formatReference, parseReference, repoName, splitTaggedName } from './reference.js';
import {
  MediaType,
  type LayerCompression,
  type RegistryClient,
  layerCompression,
  parseManifest,
  verifyingStream,
} from './registry/index.js';
import { hexOf, type ImageRecord, type StoreState } from '../store/image-store.js';

export type ManifestFormat = 'oci' | 'v2s2';

export interface PushOptions extends RegistryAccessOptions {
  /** manifest format at the destination (default: the stored one's) */
  format?: ManifestFormat;
  /** layer compression at the destination (default: each layer's stored one) */
  compressionFormat?: 'gzip' | 'zstd';
  /** push every tag of the repository IMAGE names */
  allTags?: boolean;
  /** file that receives the digest of the (last) pushed manifest */
  digestfile?: string;
  /** blobs up to this size go in one PUT, larger ones in PATCH chunks of it (default 32 MiB) */
  chunkSize?: number;
  progress: Progress;
}

export interface PushResult {
  /** the fully qualified name pushed, e.g. 127.0.0.1:5000/app:1.0 */
  name: string;
  digest: string;
  /** size of the manifest in bytes, as Docker reports it */
  size: number;
}

const DEFAULT_CHUNK_SIZE = 32 << 20;
/** Parallel blob uploads, like Docker's default of 5 would overload a 2-core machine: 3 as pull. */
const PARALLEL_UPLOADS = 3;

const LAYER_TYPES: Record<ManifestFormat, Partial<Record<LayerCompression, string>>> = {
  oci: {
    gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
    zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
    none: 'application/vnd.oci.image.layer.v1.tar',
  },
  v2s2: {
    gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
    none: 'application/vnd.docker.image.rootfs.diff.tar',
  },
};

const MANIFEST_TYPES = {
  oci: { manifest: MediaType.ociManifest, config: MediaType.ociConfig },
  v2s2: { manifest: MediaType.dockerManifest, config: MediaType.dockerConfig },
} as const;

interface PushJob {
  image: ImageRecord;
  dest: ImageReference & { tag: string };
}

/** IMAGE and DESTINATION to the images and names to push; throws before anything is sent. */
function planJobs(engine: Engine, state: StoreState, source: string, destination: string | undefined, opts: PushOptions): PushJob[] {
  if (opts.allTags) {
    if (destination) throw new TspodError('--all-tags takes no DESTINATION', 'tag the images with the destination repository first');
    const ref = parseReference(source);
    const lastSlash = source.lastIndexOf('/');
    if (ref.digest || source.lastIndexOf(':') > lastSlash) {
      throw new TspodError(`tag can't be used with --all-tags/-a: ${source}`, 'give the repository name alone');
    }
    for (const candidate of candidateReferences(engine.registries, source, ref)) {
      const jobs = state.images.flatMap((image) =>
        image.names.flatMap((name) => {
          const { repo, tag } = splitTaggedName(name);
          return repo === repoName(candidate) ? [{ image, dest: { ...candidate, tag } }] : [];
        }));
      if (jobs.length) return jobs.sort((a, b) => a.dest.tag.localeCompare(b.dest.tag));
    }
    throw new TspodError(`no tagged image in repository ${source}`, 'see `tspod images`');
  }
  const { image, name } = requireImage(engine, state, source);
  const target = destination ?? name;
  if (!target) throw new TspodError(`no destination for image ${source}`, 'give IMAGE by name or add DESTINATION');
  const dest = parseReference(target);
  if (dest.digest) throw new TspodError(`cannot push to a digest: "${target}"`, 'give NAME[:TAG]');
  return [{ image, dest: { ...dest, tag: dest.tag ?? 'latest' } }];
}

export async function pushImages(engine: Engine, source: string, destination: string | undefined, opts: PushOptions): Promise<PushResult[]> {
  const state = engine.store.read();
  const jobs = planJobs(engine, state, source, destination, opts);
  const clients = new Map<string, RegistryClient>();
  const results: PushResult[] = [];
  try {
    for (const job of jobs) {
      const { registry } = job.dest;
      let client = clients.get(registry);
      if (!client) {
        const entry = registryEntry(engine.registries, registry);
        if (entry.blocked) throw new TspodError(`registry ${registry} is blocked in registries.json`, 'remove "blocked" for it to push to it');
        client = registryClient(engine, registry, { host: registry, insecure: entry.insecure }, opts);
        clients.set(registry, client);
      }
      results.push(await pushOne(engine, state, client, job, opts));
    }
  } finally {
    for (const client of clients.values()) client.close();
  }
  if (opts.digestfile && results.length) {
    try {
      writeFileSync(opts.digestfile, results.at(-1)!.digest);
    } catch (e) {
      throw new TspodError(`cannot write the digest file ${opts.digestfile}`, (e as Error).message);
    }
  }
  return results;
}

interface BlobToPush {
  /** the id shown in progress lines */
  id: string;
  digest: string;
  size: number;
  file: string;
  /** repositories of the same registry that had the blob when it was pulled or pushed */
  mountFrom: string[];
}

interface PlannedLayer {
  diffID: string;
  /** the stored blob it is pushed from */
  source: { digest: string; size: number; mediaType: string };
  /** the compression and media type at the destination */
  compression: LayerCompression;
  mediaType: string;
  raw: Record<string, unknown>;
}

/** The repositories of `registry` (other than `except`) where images holding the layer were seen. */
function mountSources(state: StoreState, registry: string, except: string, first: ImageRecord, diffID?: string): string[] {
  const repos: string[] = [];
  const images = [first, ...state.images.filter((i) => i !== first && diffID !== undefined && i.layers.includes(diffID))];
  for (const image of images) {
    for (const name of [...image.names.map((n) => splitTaggedName(n).repo), ...image.digests.map((d) => d.slice(0, d.indexOf('@')))]) {
      if (!name.startsWith(`${registry}/`)) continue;
      const repo = name.slice(registry.length + 1);
      if (repo !== except && !repos.includes(repo)) repos.push(repo);
    }
  }
  return repos;
}

async function pushOne(engine: Engine, state: StoreState, client: RegistryClient, job: PushJob, opts: PushOptions): Promise<PushResult> {
  const { image, dest } = job;
  const { progress } = opts;
  const { store } = engine;
  const name = formatReference(dest);
  const stored = store.readBlob(image.manifestDigest);
  const parsed = parseManifest(stored, image.manifestMediaType, name);
  if (parsed.kind !== 'manifest') throw new TspodError(`image ${hexOf(image.id).slice(0, 12)} is stored as an index, which push does not support`);
  const raw = JSON.parse(stored.toString('utf8')) as { layers: Record<string, unknown>[]; config: Record<string, unknown>; annotations?: unknown };
  const storedFormat: ManifestFormat = parsed.mediaType === MediaType.dockerManifest ? 'v2s2' : 'oci';
  const format = opts.format ?? storedFormat;
  const layers: PlannedLayer[] = parsed.manifest.layers.map((layer, i) => {
    const diffID = image.layers[i]!;
    const compression = opts.compressionFormat ?? layerCompression(layer.mediaType);
    const mediaType = LAYER_TYPES[format][compression];
    if (!mediaType) {
      throw new TspodError(`${compression} layers cannot be pushed in the v2s2 format`, 'use --format oci or --compression-format gzip');
    }
    return { diffID, source: storedBlob(engine, state, layer, diffID), compression, mediaType, raw: raw.layers[i]! };
  });
  const convert = format !== storedFormat || layers.some((l, i) => l.source.digest !== parsed.manifest.layers[i]!.digest || l.compression !== layerCompression(l.source.mediaType));

  progress.message(`The push refers to repository [${repoName(dest)}]`);
  const id = (layer: PlannedLayer) => hexOf(layer.source.digest).slice(0, 12);
  for (const layer of layers) progress.layer(id(layer), 'Preparing');
  const staging = convert ? store.makeTempDir() : undefined;
  try {
    const layerBlobs = await runLimited(layers, PARALLEL_UPLOADS, async (layer): Promise<BlobToPush> => {
      if (layer.compression === layerCompression(layer.source.mediaType)) {
        const blob = { id: id(layer), ...layer.source, file: blobFile(engine, layer.source.digest), mountFrom: mountSources(state, dest.registry, dest.repository, image, layer.diffID) };
        await uploadBlob(client, dest.repository, blob, opts);
        return blob;
      }
      const blob = { id: id(layer), ...(await recompress(engine, layer, staging!)), mountFrom: [] };
      await uploadBlob(client, dest.repository, blob, opts);
      return blob;
    });
    const config = parsed.manifest.config;
    await uploadBlob(client, dest.repository, { id: '', ...config, file: blobFile(engine, config.digest), mountFrom: mountSources(state, dest.registry, dest.repository, image) }, { ...opts, progress: undefined });
    progress.done();

    let manifest = stored;
    let mediaType = parsed.mediaType;
    if (convert) {
      mediaType = MANIFEST_TYPES[format].manifest;
      const descriptor = (base: Record<string, unknown>, fields: { mediaType: string; digest: string; size: number }) => {
        const { annotations, ...rest } = base;
        return { ...rest, ...fields, ...(format === 'oci' && annotations ? { annotations } : {}) };
      };
      manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType,
        config: descriptor(raw.config, { mediaType: MANIFEST_TYPES[format].config, digest: config.digest, size: config.size }),
        layers: layers.map((l, i) => descriptor(l.raw, { mediaType: l.mediaType, digest: layerBlobs[i]!.digest, size: layerBlobs[i]!.size })),
        ...(format === 'oci' && raw.annotations ? { annotations: raw.annotations } : {}),
      }));
    }
    const digest = await client.putManifest(dest.repository, dest.tag, manifest, mediaType);
    progress.message(`${dest.tag}: digest: ${digest} size: ${manifest.length}`);
    // Remembered like a pull's: the next push to another repository there can mount from it.
    const digestName = `${repoName(dest)}@${digest}`;
    if (!image.digests.includes(digestName)) {
      await store.update((s) => {
        const current = s.images.find((i) => i.id === image.id);
        if (current && !current.digests.includes(digestName)) current.digests.push(digestName);
      });
    }
    await recordEvent(engine, { type: 'image', action: 'push', id: image.id, name });
    return { name, digest, size: manifest.length };
  } finally {
    progress.done();
    if (staging) rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The blob a layer is pushed from: the manifest's own, else (a layer another image brought in
 * first, from a blob compressed differently) the blob the store keeps for its diffID.
 */
function storedBlob(engine: Engine, state: StoreState, layer: PlannedLayer['source'], diffID: string): PlannedLayer['source'] {
  if (engine.store.hasBlob(layer.digest)) return layer;
  const record = state.layers.find((l) => l.diffID === diffID);
  if (record && engine.store.hasBlob(record.digest)) return { digest: record.digest, size: record.compressedSize, mediaType: record.mediaType };
  throw new TspodError(`blob ${layer.digest} is missing from the store`, 'pull the image again');
}

function blobFile(engine: Engine, digest: string): string {
  if (!engine.store.hasBlob(digest)) throw new TspodError(`blob ${digest} is missing from the store`, 'pull the image again');
  return engine.store.blobPath(digest);
}

/** Bytes [start, end) of a file; an empty range is an empty stream. */
function fileRange(file: string, start: number, end: number): Readable {
  return end > start ? createReadStream(file, { start, end: end - 1 }) : Readable.from([]);
}

/** HEAD, else mount, else upload: whatever costs the least. */
async function uploadBlob(client: RegistryClient, repository: string, blob: BlobToPush, opts: Omit<PushOptions, 'progress'> & { progress?: Progress }): Promise<void> {
  const { progress } = opts;
  if (await client.hasBlob(repository, blob.digest)) {
    progress?.layer(blob.id, 'Layer already exists');
    return;
  }
  const from = blob.mountFrom[0];
  const location = await client.startUpload(repository, from ? { digest: blob.digest, from } : undefined);
  if (!location) {
    progress?.layer(blob.id, `Mounted from ${from}`);
    return;
  }
  progress?.layer(blob.id, 'Pushing', 0, blob.size);
  await client.uploadBlob(repository, location, blob, (start, end) => fileRange(blob.file, start, end), {
    chunkSize: opts.chunkSize ?? DEFAULT_CHUNK_SIZE,
    onProgress: (sent) => progress?.layer(blob.id, 'Pushing', sent, blob.size),
  });
  progress?.layer(blob.id, 'Pushed');
}

function compressor(compression: LayerCompression): Duplex {
  switch (compression) {
    case 'gzip':
      return createGzip({ chunkSize: 64 * 1024 });
    case 'zstd':
      return zstdStream(['-cq']);
    case 'none':
      return new PassThrough();
  }
}

/**
 * Recompresses a stored layer blob into `dir`, streaming: decompress, check the content against
 * the layer's diffID, compress, hash and count into a file.
 */
async function recompress(engine: Engine, layer: PlannedLayer, dir: string): Promise<{ digest: string; size: number; file: string }> {
  const file = path.join(dir, hexOf(layer.diffID));
  const hash = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(
    createReadStream(blobFile(engine, layer.source.digest)),
    verifyingStream(layer.source.digest, layer.source.size),
    decompressor(layer.source.mediaType),
    verifyingStream(layer.diffID),
    compressor(layer.compression),
    measure,
    createWriteStream(file),
  );
  return { digest: `sha256:${hash.digest('hex')}`, size, file };
}
