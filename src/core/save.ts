/**
 * tspod save: images out of the store as a docker-archive (Docker's default; layers
 * uncompressed, as `docker load` and `podman load` read them), an OCI archive or an OCI layout
 * directory (blobs exactly as stored, so the manifest digest survives). Everything is streamed
 * from the store's blobs: a layer is never held in memory.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { blobMember, CONTAINERD_NAME_ANNOTATION, DOCKER_MANIFEST, DOCKER_REPOSITORIES, OCI_INDEX, OCI_LAYOUT, OCI_LAYOUT_VERSION, REF_NAME_ANNOTATION, type DockerArchiveEntry } from './archive/format.js';
import { decompressor } from './compression.js';
import type { Engine } from './engine.js';
import { TspodError } from './errors.js';
import { recordEvent } from './events.js';
import { displayName, requireImage } from './images.js';
import { splitTaggedName } from './reference.js';
import { buildManifest } from './image-ingest.js';
import { MediaType, digestOf, layerCompression, parseManifest } from './registry/index.js';
import { hexOf, type ImageRecord, type LayerRecord } from '../store/image-store.js';

export const SAVE_FORMATS = ['docker-archive', 'oci-archive', 'oci-dir'] as const;
export type SaveFormat = (typeof SAVE_FORMATS)[number];

export interface SaveOptions {
  format: SaveFormat;
  /** a file (a directory for oci-dir); none: the archive goes to `stdout` */
  output?: string;
  stdout: Writable & { isTTY?: boolean };
}

/** An image to save and the names it is saved under (none when addressed by ID, as Docker). */
interface Saved {
  image: ImageRecord;
  names: string[];
}

/** Where the archive's members go: a tar stream or a directory. */
interface Sink {
  file(name: string, data: Buffer): Promise<void>;
  stream(name: string, size: number, content: Readable): Promise<void>;
  finish(): Promise<void>;
  abort(): void;
}

function tarSink(out: Writable, opts: { endOutput: boolean }): Sink {
  const pack = tar.pack();
  // stdout is never ended (oclif still writes to it); a file is, and is flushed when finished.
  const written = opts.endOutput
    ? pipeline(pack, out)
    : new Promise<void>((resolve, reject) => {
        // tar-stream's own pipe() always ends its destination.
        const source = Readable.from(pack);
        source.once('error', reject);
        out.once('error', reject);
        source.once('end', resolve);
        source.pipe(out, { end: false });
      });
  written.catch(() => undefined);
  const header = (name: string, size: number) => ({ name, size, mode: 0o444, mtime: new Date(0), uid: 0, gid: 0 });
  return {
    file: (name, data) =>
      new Promise<void>((resolve, reject) => {
        pack.entry(header(name, data.length), data, (e) => (e ? reject(e) : resolve()));
      }),
    async stream(name, size, content) {
      const done = new Promise<void>((resolve, reject) => {
        const entry = pack.entry(header(name, size), (e) => (e ? reject(e) : resolve()));
        pipeline(content, entry).catch(reject);
      });
      await Promise.race([done, written]);
    },
    async finish() {
      pack.finalize();
      await written;
    },
    abort: () => pack.destroy(),
  };
}

function dirSink(dir: string): Sink {
  const target = (name: string) => {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    return file;
  };
  return {
    file: async (name, data) => writeFileSync(target(name), data),
    stream: (name, _size, content) => pipeline(content, createWriteStream(target(name))),
    finish: async () => undefined,
    abort: () => undefined,
  };
}

/** The images named, in order, each once, with every name it was addressed by. */
function resolveInputs(engine: Engine, inputs: string[]): Saved[] {
  const state = engine.store.read();
  const saved = new Map<string, Saved>();
  for (const input of inputs) {
    const { image, name } = requireImage(engine, state, input);
    const entry = saved.get(image.id) ?? { image, names: [] };
    if (name && !entry.names.includes(name)) entry.names.push(name);
    saved.set(image.id, entry);
  }
  return [...saved.values()];
}

function layerRecords(engine: Engine, image: ImageRecord): LayerRecord[] {
  const layers = engine.store.read().layers;
  return image.layers.map((diffID) => {
    const layer = layers.find((l) => l.diffID === diffID);
    if (!layer || !engine.store.hasBlob(layer.digest)) throw new TspodError(`layer ${diffID} of image ${image.id} is missing from the store`, 'pull the image again');
    return layer;
  });
}

/** Docker's layout: `<config-hex>.json`, `<diffID-hex>/layer.tar` (uncompressed), manifest.json, repositories. */
async function writeDockerArchive(engine: Engine, saved: Saved[], sink: Sink): Promise<void> {
  const manifest: DockerArchiveEntry[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const written = new Set<string>();
  for (const { image, names } of saved) {
    const config = `${hexOf(image.id)}.json`;
    await sink.file(config, engine.store.readBlob(image.id));
    const members: string[] = [];
    for (const layer of layerRecords(engine, image)) {
      const member = `${hexOf(layer.diffID)}/layer.tar`;
      members.push(member);
      if (written.has(member)) continue;
      written.add(member);
      const blob = createReadStream(engine.store.blobPath(layer.digest));
      const tarStream = layerCompression(layer.mediaType) === 'none' ? blob : blob.pipe(decompressor(layer.mediaType));
      blob.on('error', (e) => tarStream.destroy(e));
      await sink.stream(member, layer.size, tarStream);
    }
    // Fully qualified: Docker reads "docker.io/library/busybox:latest" as busybox:latest, but
    // Podman reads a familiar "busybox:latest" as localhost/busybox:latest.
    manifest.push({ Config: config, RepoTags: names.length ? names : null, Layers: members });
    const top = members.at(-1)?.split('/')[0];
    for (const name of names) {
      const { repo, tag } = splitTaggedName(name);
      if (top) (repositories[repo] ??= {})[tag] = top;
    }
  }
  await sink.file(DOCKER_MANIFEST, Buffer.from(JSON.stringify(manifest)));
  await sink.file(DOCKER_REPOSITORIES, Buffer.from(JSON.stringify(repositories)));
}

/**
 * The manifest to write for an image, and the layer blobs it names: the stored one, unless the
 * store lacks a blob it names (a layer that came with another image first, pulled by a tspod that
 * did not keep the manifest's own blob); then one naming the blobs the store has, which keeps the
 * image ID (the config) and changes only the manifest digest.
 */
function manifestOf(engine: Engine, image: ImageRecord, layers: LayerRecord[]): { bytes: Buffer; mediaType: string; digest: string; layerBlobs: string[] } {
  const bytes = engine.store.readBlob(image.manifestDigest);
  const parsed = parseManifest(bytes, image.manifestMediaType, image.id);
  if (parsed.kind === 'manifest' && parsed.manifest.layers.length === layers.length && parsed.manifest.layers.every((d) => engine.store.hasBlob(d.digest))) {
    return { bytes, mediaType: parsed.mediaType, digest: image.manifestDigest, layerBlobs: parsed.manifest.layers.map((d) => d.digest) };
  }
  const format = image.manifestMediaType === MediaType.dockerManifest ? 'v2s2' : 'oci';
  const rebuilt = buildManifest(engine.store.readBlob(image.id), layers, format);
  return { ...rebuilt, digest: digestOf(rebuilt.bytes), layerBlobs: layers.map((l) => l.digest) };
}

/** The OCI image layout: blobs as stored, one index entry per name (Podman's full name as ref.name). */
async function writeOciLayout(engine: Engine, saved: Saved[], sink: Sink): Promise<void> {
  await sink.file(OCI_LAYOUT, Buffer.from(OCI_LAYOUT_VERSION));
  const written = new Set<string>();
  const copyBlob = async (digest: string) => {
    if (written.has(digest)) return;
    written.add(digest);
    const file = engine.store.blobPath(digest);
    await sink.stream(blobMember(digest), statSync(file).size, createReadStream(file));
  };
  const manifests: object[] = [];
  for (const { image, names } of saved) {
    const manifest = manifestOf(engine, image, layerRecords(engine, image));
    for (const digest of manifest.layerBlobs) await copyBlob(digest);
    await copyBlob(image.id);
    if (!written.has(manifest.digest)) {
      written.add(manifest.digest);
      await sink.file(blobMember(manifest.digest), manifest.bytes);
    }
    const descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
    if (!names.length) manifests.push(descriptor);
    for (const name of names) manifests.push({ ...descriptor, annotations: { [REF_NAME_ANNOTATION]: name, [CONTAINERD_NAME_ANNOTATION]: name } });
  }
  await sink.file(OCI_INDEX, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests })));
}

/** A sibling of `target` to write into before the rename that makes it appear whole. */
function tempSibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tspod-${randomBytes(6).toString('hex')}`);
}

export async function saveImages(engine: Engine, inputs: string[], opts: SaveOptions): Promise<void> {
  if (!opts.output && opts.format === 'oci-dir') throw new TspodError('oci-dir needs a directory to save to', 'give -o DIRECTORY');
  if (!opts.output && opts.stdout.isTTY) throw new TspodError('cowardly refusing to save to a terminal', 'use the -o flag or redirect');
  const saved = resolveInputs(engine, inputs);
  const write = opts.format === 'docker-archive' ? writeDockerArchive : writeOciLayout;
  if (!opts.output) {
    const sink = tarSink(opts.stdout, { endOutput: false });
    await write(engine, saved, sink).catch((e: unknown) => {
      sink.abort();
      throw e;
    });
    await sink.finish();
  } else {
    const target = path.resolve(opts.output);
    if (opts.format === 'oci-dir' && existsSync(target) && readdirSync(target).length) {
      throw new TspodError(`${opts.output} already exists and is not empty`, 'give a new or empty directory');
    }
    const temp = tempSibling(target);
    try {
      let sink: Sink;
      if (opts.format === 'oci-dir') {
        mkdirSync(temp);
        sink = dirSink(temp);
      } else {
        sink = tarSink(createWriteStream(temp, { flags: 'wx', mode: 0o644 }), { endOutput: true });
      }
      await write(engine, saved, sink).catch((e: unknown) => {
        sink.abort();
        throw e;
      });
      await sink.finish();
      if (opts.format === 'oci-dir' && existsSync(target)) rmSync(target, { recursive: true });
      renameSync(temp, target);
    } catch (e) {
      rmSync(temp, { recursive: true, force: true });
      throw asSaveError(e, opts.output);
    }
  }
  for (const { image, names } of saved) {
    await recordEvent(engine, { type: 'image', action: 'save', id: image.id, name: names[0] && displayName(names[0]) });
  }
}

const WRITE_FAILURES: Record<string, string> = {
  ENOENT: 'its directory does not exist',
  ENOTDIR: 'its directory does not exist',
  EACCES: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EISDIR: 'it is a directory',
};

function asSaveError(e: unknown, output: string): unknown {
  const why = WRITE_FAILURES[(e as NodeJS.ErrnoException).code ?? ''];
  return why ? new TspodError(`cannot write ${output}: ${why}`) : e;
}
