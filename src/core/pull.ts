/**
 * tspod pull: resolve a name through aliases, search registries and mirrors, then download
 * the missing layers in parallel, each streamed download -> verify -> decompress -> sanitize ->
 * extract into a staging dir, and commit blobs, layers and the image record atomically under
 * the store lock. A killed pull leaves only staging dirs, which the next pull removes.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { type Readable, Transform, pipeline } from 'node:stream';
import { credentialsFor } from './auth-file.js';
import type { Engine } from './engine.js';
import { TspodError, isTspodError } from './errors.js';
import { commitImage, discardStaged, stageBlob, stageLayer, type StagedBlob, type StagedLayer } from './image-ingest.js';
import { displayName, purge } from './images.js';
import { recordEvent } from './events.js';
import { ImageConfig } from './image-view.js';
import type { LayerStatus, Progress } from './progress.js';
import { candidateReferences, endpointsFor } from './registries.js';
import { type ImageReference, formatReference, parseReference, repoName } from './reference.js';
import { type BlobDescriptor, type Credentials, type ResolvedImage, RegistryClient, parsePlatform, resolveImage } from './registry/index.js';
import { hexOf } from '../store/image-store.js';
import { PlainHttpMemory } from '../store/plain-http-memory.js';

export interface RegistryAccessOptions {
  /** false: accept any certificate and plain HTTP */
  tlsVerify?: boolean;
  authfile?: string;
  creds?: Credentials;
  /** directory of extra CA certificates (*.crt) */
  certDir?: string;
}

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

/** Extra CA certificates for a host: --cert-dir, else certs.d/HOST of the system and user config dirs. */
export function certFiles(engine: Engine, host: string, certDir?: string): string[] {
  const dirs = certDir ? [certDir] : [path.join(engine.paths.systemConfigDir, 'certs.d', host), path.join(engine.paths.configDir, 'certs.d', host)];
  return [...new Set(dirs)].flatMap((dir) => {
    try {
      return readdirSync(dir).filter((f) => f.endsWith('.crt')).map((f) => path.join(dir, f));
    } catch {
      return [];
    }
  });
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

/** The job's blob as a stream, its progress shown as it comes. */
function download(source: Source, job: LayerJob, progress: Progress): () => Promise<Readable> {
  let received = 0;
  // A pipe, not a 'data' listener: nothing may flow before the consumer is attached.
  // pipeline() destroys both ends on failure, and handles errors even if nobody ever reads.
  return async () =>
    pipeline(
      (await source.client.getBlob(source.ref.repository, job.layer.digest)).stream,
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          received += chunk.length;
          progress.layer(job.id, 'Downloading', received, job.layer.size);
          callback(null, chunk);
        },
      }),
      () => undefined,
    );
}

/** Shows the job's progress around `work`: from Downloading to `done`, or Failed. */
async function withLayerProgress<T>(job: LayerJob, progress: Progress, done: LayerStatus, work: () => Promise<T>): Promise<T> {
  try {
    progress.layer(job.id, 'Downloading', 0, job.layer.size);
    const result = await work();
    progress.layer(job.id, done);
    return result;
  } catch (e) {
    progress.layer(job.id, 'Failed');
    throw e;
  }
}

async function downloadLayer(engine: Engine, source: Source, job: LayerJob, progress: Progress): Promise<StagedLayer> {
  return withLayerProgress(job, progress, 'Pull complete', () =>
    stageLayer(engine, { stream: download(source, job, progress), mediaType: job.layer.mediaType, digest: job.layer.digest, size: job.layer.size, diffID: job.diffID, label: job.layer.digest }));
}

/** The blob alone: its layer is in the store already, extracted from another blob. */
async function downloadBlob(engine: Engine, source: Source, job: LayerJob, progress: Progress): Promise<StagedBlob> {
  return withLayerProgress(job, progress, 'Download complete', () => stageBlob(engine, { stream: download(source, job, progress), digest: job.layer.digest, size: job.layer.size }));
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
  // The layer is here, from another blob (compressed otherwise): the manifest's blob is fetched
  // all the same, so that push and save find every blob the stored manifest names.
  const blobsMissing = jobs.filter((j) => !missing.includes(j) && !engine.store.hasBlob(j.layer.digest));
  const downloads = missing.length + blobsMissing.length;
  const existing = state.images.find((i) => i.id === id);
  const known = existing !== undefined;
  // Nothing to download and the names already recorded: no lock, no rewrite of the store.
  const upToDate = !downloads && existing?.digests.includes(digestName) && (!ref.tag || ref.digest !== undefined || existing.names.includes(name));
  progress.message(`${ref.tag ?? ref.digest}: Pulling from ${repoName(ref)}`);
  for (const job of jobs) progress.layer(job.id, missing.includes(job) || blobsMissing.includes(job) ? 'Waiting' : 'Already exists');

  if (downloads) await cleanAbandoned(engine);
  const staged: StagedLayer[] = [];
  const blobs: StagedBlob[] = [];
  try {
    await runLimited([...missing, ...blobsMissing], PARALLEL_LAYERS, async (job) => {
      if (missing.includes(job)) staged.push(await downloadLayer(engine, source, job, progress));
      else blobs.push(await downloadBlob(engine, source, job, progress));
    });
    const leftovers = upToDate
      ? []
      : (
          await commitImage(engine, {
            configBytes: resolved.configBytes,
            config,
            manifestBytes: resolved.manifestBytes,
            manifestMediaType: resolved.manifestMediaType,
            layers: jobs.map((j) => ({ diffID: j.diffID, digest: j.layer.digest })),
            staged,
            blobs,
            // With a digest the tag is ignored, as Docker and Podman do: it would not say what was pulled.
            names: ref.tag && !ref.digest ? [name] : [],
            digestNames: [digestName],
          })
        ).leftovers;
    progress.done();
    progress.message(`Digest: ${resolved.indexDigest ?? resolved.manifestDigest}`);
    progress.message(`Status: ${downloads || !known ? 'Downloaded newer image' : 'Image is up to date'} for ${displayName(name)}`);
    await purge(engine, leftovers);
    await recordEvent(engine, { type: 'image', action: 'pull', id, name: displayName(name) });
    return { id, name, downloaded: downloads > 0 || !known };
  } catch (e) {
    progress.done();
    await discardStaged(engine, [...staged, ...blobs]);
    throw e;
  }
}
