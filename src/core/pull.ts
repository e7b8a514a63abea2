/**
 * tspod pull: resolve a name through aliases, search registries and mirrors, then download
 * the missing layers in parallel, each streamed download -> verify -> decompress -> sanitize ->
 * extract into a staging dir, and commit blobs, layers and the image record atomically under
 * the store lock. A killed pull leaves only staging dirs, which the next pull removes.
 */
import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { credentialsFor } from './auth-file.js';
import type { Engine } from './engine.js';
import { TspodError, isTspodError } from './errors.js';
import { assignName, displayName, purge } from './images.js';
import { decompressor } from './layer-compression.js';
import { ImageConfig } from './image-view.js';
import { sanitizeLayer } from './layer-sanitize.js';
import type { Progress } from './progress.js';
import { candidateReferences, endpointsFor } from './registries.js';
import { type ImageReference, formatReference, parseReference, repoName } from './reference.js';
import {
  type BlobDescriptor,
  type Credentials,
  type ResolvedImage,
  RegistryClient,
  parsePlatform,
  resolveImage,
  verifyingStream,
} from './registry/index.js';
import { extractLayer, removeTree } from '../namespaces/extract.js';
import { writeFileAtomic } from '../store/atomic.js';
import { hexOf, type ImageRecord } from '../store/image-store.js';
import { PlainHttpMemory } from '../store/plain-http-memory.js';

export interface PullOptions extends RegistryAccessOptions {
  /** os/arch[/variant] */
  platform?: string;
  progress: Progress;
}

export interface PullResult {
  id: string;
  /** the fully qualified name pulled, e.g. docker.io/library/debian:latest */
  name: string;
  /** whether anything new was stored */
  downloaded: boolean;
}

/** Parallel layer downloads, like Docker's default of 3. */
const PARALLEL_LAYERS = 3;

function certFiles(engine: Engine, host: string, certDir?: string): string[] {
  const dirs = certDir ? [certDir] : [path.join(engine.paths.systemConfigDir, 'certs.d', host), path.join(engine.paths.configDir, 'certs.d', host)];
  return [...new Set(dirs)].flatMap((dir) => {
    try {
      return readdirSync(dir).filter((f) => f.endsWith('.crt')).map((f) => path.join(dir, f));
    } catch {
      return [];
    }
  });
}

export interface RegistryAccessOptions {
  /** false: accept any certificate and plain HTTP */
  tlsVerify?: boolean;
  authfile?: string;
  creds?: Credentials;
  /** directory of extra CA certificates (*.crt) */
  certDir?: string;
}

/**
 * A client for `registry` served at `endpoint` (the registry itself or a mirror), with the
 * endpoint's registries.json setting, certificates and credentials.
 */
export function registryClient(
  engine: Engine,
  registry: string,
  endpoint: { host: string; insecure: boolean },
  opts: RegistryAccessOptions,
  schemes = new PlainHttpMemory(engine.paths.runroot),
): RegistryClient {
  return new RegistryClient({
    registry,
    endpoint: endpoint.host === registry ? undefined : endpoint.host,
    tlsVerify: opts.tlsVerify !== false && !endpoint.insecure,
    caFiles: certFiles(engine, endpoint.host, opts.certDir),
    schemes,
    // Stored credentials are the host's they are sent to: a mirror never gets the registry's.
    auth: opts.creds ?? credentialsFor(endpoint.host, opts.authfile),
  });
}

interface Source {
  ref: ImageReference;
  client: RegistryClient;
  resolved: ResolvedImage;
}

/** Tries each candidate name and, for each, its mirrors then the registry itself. */
async function resolveSource(engine: Engine, input: string, opts: PullOptions): Promise<Source> {
  const ref = parseReference(input);
  const platform = opts.platform ? parsePlatform(opts.platform) : undefined;
  const failures: TspodError[] = [];
  const schemes = new PlainHttpMemory(engine.paths.runroot);
  for (const candidate of candidateReferences(engine.registries, input, ref)) {
    for (const endpoint of endpointsFor(engine.registries, candidate.registry)) {
      const client = registryClient(engine, candidate.registry, endpoint, opts, schemes);
      try {
        const resolved = await resolveImage(client, candidate.repository, candidate.digest ?? candidate.tag!, platform);
        return { ref: candidate, client, resolved };
      } catch (e) {
        client.close();
        if (!isTspodError(e)) throw e;
        failures.push(e);
      }
    }
  }
  if (failures.length === 1) throw failures[0];
  // Several places were tried: the most telling failure is one that is not "not found".
  const notFound = (e: TspodError) => /not found|unknown/i.test(e.message);
  throw failures.find((e) => !notFound(e)) ?? failures[0];
}

interface LayerJob {
  layer: BlobDescriptor;
  diffID: string;
  id: string;
}

interface StagedLayer {
  job: LayerJob;
  staging: string;
  /** uncompressed bytes */
  size: number;
}

async function stageLayer(engine: Engine, source: Source, job: LayerJob, progress: Progress): Promise<StagedLayer> {
  const ns = await engine.namespace();
  const staging = engine.store.makeTempDir();
  const diffDir = path.join(staging, 'diff');
  mkdirSync(diffDir);
  try {
    progress.layer(job.id, 'Downloading', 0, job.layer.size);
    const { stream } = await source.client.getBlob(source.ref.repository, job.layer.digest);
    let received = 0;
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      progress.layer(job.id, 'Downloading', received, job.layer.size);
    });
    const verified = stream.pipe(verifyingStream(job.layer.digest, job.layer.size));
    stream.on('error', (e) => verified.destroy(e));
    const toBlob = pipeline(verified, createWriteStream(path.join(staging, 'blob')));
    const sanitized = sanitizeLayer({ digest: job.layer.digest, rootless: ns.rootless });
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        callback(null, chunk);
      },
    });
    const toLayer = pipeline(verified, decompressor(job.layer.mediaType), verifyingStream(job.diffID), counter, sanitized);
    const results = await Promise.allSettled([toBlob, toLayer, extractLayer(ns, sanitized, diffDir)]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      stream.destroy();
      throw failed.reason;
    }
    progress.layer(job.id, 'Pull complete');
    return { job, staging, size };
  } catch (e) {
    progress.layer(job.id, 'Failed');
    await removeTree(ns, staging).catch(() => undefined);
    throw e;
  }
}

/** Runs jobs with at most `limit` in flight; the first failure stops new starts. */
export async function runLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length && errors.length === 0) {
      const i = next++;
      try {
        results[i] = await fn(items[i]);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length) throw errors[0];
  return results;
}

/** Removes staging dirs of pulls that were killed. */
async function cleanAbandoned(engine: Engine): Promise<void> {
  const abandoned = engine.store.abandonedTempDirs();
  if (abandoned.length) await purge(engine, abandoned).catch(() => undefined);
}

export async function pullImage(engine: Engine, input: string, opts: PullOptions): Promise<PullResult> {
  const { progress } = opts;
  const source = await resolveSource(engine, input, opts);
  try {
    return await pullResolved(engine, source, progress);
  } finally {
    source.client.close();
  }
}

async function pullResolved(engine: Engine, source: Source, progress: Progress): Promise<PullResult> {
  const { ref, resolved } = source;
  const name = formatReference(ref);
  const config = ImageConfig.parse(JSON.parse(resolved.configBytes.toString('utf8')));
  if (config.rootfs.diff_ids.length !== resolved.layers.length) {
    throw new TspodError(`${name} is malformed: its config lists ${config.rootfs.diff_ids.length} layers and its manifest ${resolved.layers.length}`);
  }
  const id = resolved.config.digest;
  const digestName = `${repoName(ref)}@${resolved.indexDigest ?? resolved.manifestDigest}`;
  const jobs: LayerJob[] = resolved.layers.map((layer, i) => ({ layer, diffID: config.rootfs.diff_ids[i], id: hexOf(layer.digest).slice(0, 12) }));

  const state = engine.store.read();
  const missing = jobs.filter((j) => !engine.store.hasLayer(state, j.diffID));
  const existing = state.images.find((i) => i.id === id);
  const known = existing !== undefined;
  // Nothing to download and the names already recorded: no lock, no rewrite of the store.
  const upToDate = !missing.length && existing?.digests.includes(digestName) && (!ref.tag || ref.digest !== undefined || existing.names.includes(name));
  progress.message(`${ref.tag ?? ref.digest}: Pulling from ${repoName(ref)}`);
  for (const job of jobs) progress.layer(job.id, missing.includes(job) ? 'Waiting' : 'Already exists');

  if (missing.length) await cleanAbandoned(engine);
  const staged: StagedLayer[] = [];
  try {
    await runLimited(missing, PARALLEL_LAYERS, async (job) => {
      staged.push(await stageLayer(engine, source, job, progress));
    });
    const leftovers = upToDate ? [] : await commit(engine, { ref, resolved, config, jobs, staged, name, digestName, id });
    progress.done();
    progress.message(`Digest: ${resolved.indexDigest ?? resolved.manifestDigest}`);
    progress.message(`Status: ${missing.length || !known ? 'Downloaded newer image' : 'Image is up to date'} for ${displayName(name)}`);
    await purge(engine, leftovers);
    return { id, name, downloaded: missing.length > 0 || !known };
  } catch (e) {
    progress.done();
    const ns = await engine.namespace();
    await Promise.all(staged.map((s) => removeTree(ns, s.staging).catch(() => undefined)));
    throw e;
  }
}

interface CommitInput {
  ref: ImageReference;
  resolved: ResolvedImage;
  config: ImageConfig;
  jobs: LayerJob[];
  staged: StagedLayer[];
  name: string;
  digestName: string;
  id: string;
}

/**
 * Moves staged layers and blobs into place and records the image, all under the lock.
 * Returns staging dirs left over (a layer another pull committed first) for deletion.
 */
async function commit(engine: Engine, c: CommitInput): Promise<string[]> {
  const { store } = engine;
  const leftovers: string[] = [];
  await store.update((state) => {
    for (const { job, staging, size } of c.staged) {
      if (store.hasLayer(state, job.diffID)) {
        leftovers.push(staging);
        continue;
      }
      const home = store.layerHome(job.diffID);
      if (existsSync(home)) leftovers.push(store.retire(home));
      if (!store.hasBlob(job.layer.digest)) renameSync(path.join(staging, 'blob'), store.blobPath(job.layer.digest));
      renameSync(staging, home);
      state.layers = state.layers.filter((l) => l.diffID !== job.diffID);
      state.layers.push({
        diffID: job.diffID,
        digest: job.layer.digest,
        mediaType: job.layer.mediaType,
        compressedSize: job.layer.size,
        size,
      });
    }
    for (const job of c.jobs) {
      if (!store.hasLayer(state, job.diffID)) throw new TspodError(`layer ${job.diffID} vanished from the store during the pull`, 'pull again');
    }
    if (!store.hasBlob(c.resolved.config.digest)) writeFileAtomic(store.blobPath(c.resolved.config.digest), c.resolved.configBytes);
    if (!store.hasBlob(c.resolved.manifestDigest)) writeFileAtomic(store.blobPath(c.resolved.manifestDigest), c.resolved.manifestBytes);
    let image = state.images.find((i) => i.id === c.id);
    if (!image) {
      const sizes = new Map(state.layers.map((l) => [l.diffID, l.size]));
      image = {
        id: c.id,
        names: [],
        digests: [],
        manifestDigest: c.resolved.manifestDigest,
        manifestMediaType: c.resolved.manifestMediaType,
        layers: c.jobs.map((j) => j.diffID),
        size: c.jobs.reduce((sum, j) => sum + (sizes.get(j.diffID) ?? 0), 0),
        created: c.config.created ?? new Date(0).toISOString(),
        added: new Date().toISOString(),
      } satisfies ImageRecord;
      state.images.push(image);
    }
    // With a digest the tag is ignored, as Docker and Podman do: it would not say what was pulled.
    if (c.ref.tag && !c.ref.digest) assignName(state, image, c.name);
    if (!image.digests.includes(c.digestName)) image.digests.push(c.digestName);
  });
  return leftovers;
}
