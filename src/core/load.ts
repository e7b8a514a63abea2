/**
 * tspod load: images from a docker-archive or an OCI archive (told apart by their content:
 * manifest.json or index.json), plain or gzip/zstd-compressed, from a file or stdin. The archive
 * is read once, in order: small JSON members (manifests, configs) are kept in memory, and every
 * layer goes straight through image-ingest's stageLayer (blob written, digests computed,
 * content sanitized and extracted in the namespace) as it streams by, since manifest.json may
 * come last. Then every config, blob and diffID is verified against what the archive's
 * manifests say, and only when all images are sound are they committed.
 */
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { z } from 'zod';
import {
  CONTAINERD_NAME_ANNOTATION,
  DOCKER_MANIFEST,
  DockerArchiveManifest,
  OCI_INDEX,
  REF_NAME_ANNOTATION,
  blobMember,
  compressionOf,
  peek,
  type DockerArchiveEntry,
} from './archive/format.js';
import { decompressor } from './compression.js';
import type { Engine } from './engine.js';
import { TspodError, isTspodError } from './errors.js';
import { recordEvent } from './events.js';
import { buildManifest, commitImage, discardStaged, layerMediaType, stageLayer, type ManifestFormat, type StagedLayer } from './image-ingest.js';
import { displayName, purge } from './images.js';
import { ImageConfig } from './image-view.js';
import { formatReference, parseReference } from './reference.js';
import { MediaType, digestOf, hostPlatform, layerCompression, parseManifest, selectPlatform, verifyBytes, type ImageManifest } from './registry/index.js';
import type { LayerRecord } from '../store/image-store.js';

export interface LoadOptions {
  /** the archive's path; none: stdin */
  input?: string;
  stdin: Readable & { isTTY?: boolean };
}

export interface LoadResult {
  id: string;
  /** the names it was loaded under, as Docker shows them */
  names: string[];
}

/** Members read into memory: manifests, configs, the legacy per-layer json and VERSION. */
const METADATA_NAMES = new Set(['manifest.json', 'index.json', 'oci-layout', 'repositories', 'json', 'VERSION']);
const MAX_METADATA_MEMBER = 8 * 1024 * 1024;
const MAX_METADATA_TOTAL = 64 * 1024 * 1024;
/** Enough of a member to tell a layer (compressed, or a tar header) from JSON. */
const SNIFF_BYTES = 512;
const MAX_LINK_DEPTH = 16;
const HEX_NAME = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/;

/** An image found in the archive, verified, ready to commit. */
interface LoadedImage {
  configBytes: Buffer;
  config: ImageConfig;
  /** the archive's manifest (OCI), kept when the store will keep the blobs it names */
  manifest?: { bytes: Buffer; mediaType: string; layers: string[] };
  /** the manifest format to build otherwise */
  format: ManifestFormat;
  /** its layers, base first */
  staged: StagedLayer[];
  names: string[];
}

/** What the archive held, by member name. */
class ArchiveContents {
  readonly metadata = new Map<string, Buffer>();
  readonly layers = new Map<string, StagedLayer>();
  readonly links = new Map<string, string>();
  readonly staged: StagedLayer[] = [];
  members = 0;
  metadataBytes = 0;

  constructor(readonly what: string) {}

  private resolve(name: string): string {
    let member = normalizeMember(name, this.what);
    for (let depth = 0; this.links.has(member); depth++) {
      if (depth > MAX_LINK_DEPTH) throw new TspodError(`${this.what}: too many links from member "${name}"`);
      member = this.links.get(member)!;
    }
    return member;
  }

  metadataOf(name: string, what: string): Buffer {
    const data = this.metadata.get(this.resolve(name));
    if (!data) throw new TspodError(`${this.what} is missing ${what} "${name}"`, 'the archive is incomplete; save it again');
    return data;
  }

  layerOf(name: string): StagedLayer {
    const layer = this.layers.get(this.resolve(name));
    if (!layer) throw new TspodError(`${this.what} is missing layer "${name}"`, 'the archive is incomplete; save it again');
    return layer;
  }
}

function escapes(what: string, name: string): TspodError {
  return new TspodError(`${what}: member "${name}" points outside the archive`, 'refusing to load an archive with absolute or ".." paths');
}

/** "./a//b/" -> "a/b"; an absolute name or a ".." component is refused, never resolved. */
function normalizeMember(name: string, what: string): string {
  if (name.startsWith('/')) throw escapes(what, name);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw escapes(what, name);
  return parts.join('/');
}

/** A symlink's target, relative to its own directory, as a member name inside the archive. */
function symlinkTarget(member: string, target: string, what: string): string {
  if (target.startsWith('/')) throw escapes(what, `${member} -> ${target}`);
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(member), target));
  if (resolved === '..' || resolved.startsWith('../')) throw escapes(what, `${member} -> ${target}`);
  return resolved;
}

function looksLikeLayer(head: Buffer): boolean {
  if (compressionOf(head) !== 'none') return true;
  if (head.length < SNIFF_BYTES) return false;
  return head.toString('latin1', 257, 262) === 'ustar' || head.every((b) => b === 0);
}

async function collect(stream: Readable, member: string, contents: ArchiveContents): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    contents.metadataBytes += (chunk as Buffer).length;
    if (size > MAX_METADATA_MEMBER || contents.metadataBytes > MAX_METADATA_TOTAL) {
      throw new TspodError(`${contents.what}: member "${member}" is too large for image metadata`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** One member as tar-stream's extract yields it: a stream of its content with its header. */
type ArchiveMember = tar.Extract extends AsyncIterable<infer E> ? E : never;

async function readMember(engine: Engine, entry: ArchiveMember, contents: ArchiveContents): Promise<void> {
  const { header } = entry;
  const { what } = contents;
  const member = normalizeMember(header.name, what);
  contents.members++;
  switch (header.type) {
    case 'directory':
      entry.resume();
      return;
    case 'symlink':
      contents.links.set(member, symlinkTarget(member, header.linkname ?? '', what));
      entry.resume();
      return;
    case 'link':
      contents.links.set(member, normalizeMember(header.linkname ?? '', what));
      entry.resume();
      return;
    case 'file':
    case 'contiguous-file':
      break;
    default:
      throw new TspodError(`${what}: member "${header.name}" is a ${header.type}`, 'an image archive holds only files, directories and links');
  }
  const base = path.posix.basename(member);
  const { head, stream } = await peek(entry as AsyncIterable<Buffer>, SNIFF_BYTES);
  const isMetadata = METADATA_NAMES.has(base) || base.endsWith('.json') || (!looksLikeLayer(head) && header.size! <= MAX_METADATA_MEMBER);
  if (isMetadata) {
    contents.metadata.set(member, await collect(stream, member, contents));
    return;
  }
  const compression = compressionOf(head);
  if (compression === 'xz' || compression === 'bzip2') {
    stream.destroy();
    throw new TspodError(`${what}: layer "${member}" is ${compression}-compressed`, 'tspod reads layers that are plain tar, gzip or zstd');
  }
  const staged = await stageLayer(engine, { stream, mediaType: layerMediaType(compression, 'v2s2'), label: `${member} of ${what}` });
  contents.staged.push(staged);
  contents.layers.set(member, staged);
  const named = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(member);
  if (named && staged.layer.digest !== `sha256:${named[1]}`) {
    throw new TspodError(`${what}: blob "${member}" does not match its name`, `its content hashes to ${staged.layer.digest}`);
  }
}

/** Reads the whole archive; throws the most telling failure (ours rather than the stream's echo of it). */
async function readArchive(engine: Engine, input: Readable, contents: ArchiveContents): Promise<void> {
  const extract = tar.extract();
  const feeding = pipeline(input, extract);
  feeding.catch(() => undefined);
  try {
    for await (const entry of extract) await readMember(engine, entry, contents);
  } catch (e) {
    if (isTspodError(e)) {
      input.destroy();
      throw e;
    }
    throw await feeding.then(
      () => e,
      (fed: unknown) => fed,
    );
  }
  await feeding;
}

function parseJson<S extends z.ZodTypeAny>(bytes: Buffer, schema: S, what: string, archive: string): z.output<S> {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new TspodError(`${archive}: ${what} is not valid JSON`);
  }
  const result = schema.safeParse(doc);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new TspodError(`${archive}: ${what} is malformed`, `${issue.path.join('.') || 'document'}: ${issue.message}`);
  }
  return result.data;
}

function readConfig(contents: ArchiveContents, member: string, digest?: string): { configBytes: Buffer; config: ImageConfig } {
  const configBytes = contents.metadataOf(member, 'image config');
  const named = digest ?? (HEX_NAME.exec(member) ? `sha256:${HEX_NAME.exec(member)![1]}` : undefined);
  if (named && digestOf(configBytes) !== named) {
    throw new TspodError(`${contents.what}: image config "${member}" does not match its digest`, `its content hashes to ${digestOf(configBytes)}`);
  }
  return { configBytes, config: parseJson(configBytes, ImageConfig, `image config "${member}"`, contents.what) };
}

/** Each layer's diffID must be the one the config lists at its place. */
function checkDiffIDs(contents: ArchiveContents, config: ImageConfig, staged: StagedLayer[], where: string): void {
  const expected = config.rootfs.diff_ids;
  if (expected.length !== staged.length) {
    throw new TspodError(`${contents.what}: ${where} has ${staged.length} layers but its config lists ${expected.length}`);
  }
  staged.forEach((s, i) => {
    if (s.layer.diffID !== expected[i]) {
      throw new TspodError(`${contents.what}: layer ${i + 1} of ${where} does not match its config`, `the config says ${expected[i]}, the content hashes to ${s.layer.diffID}`);
    }
  });
}

/** A name from an archive, fully qualified as the store keeps names. */
function storedName(name: string, what: string): string {
  const ref = parseReference(name);
  if (ref.digest) throw new TspodError(`${what}: "${name}" is not a tag`, 'an archive names images NAME:TAG');
  return formatReference(ref);
}

function dockerImage(contents: ArchiveContents, entry: DockerArchiveEntry): LoadedImage {
  const { configBytes, config } = readConfig(contents, entry.Config);
  const staged = entry.Layers.map((layer) => contents.layerOf(layer));
  checkDiffIDs(contents, config, staged, `image ${entry.Config}`);
  return {
    configBytes,
    config,
    format: 'v2s2',
    staged,
    names: (entry.RepoTags ?? []).map((n) => storedName(n, contents.what)),
  };
}

const OciIndexAnnotations = z.object({
  manifests: z.array(z.object({ annotations: z.record(z.string(), z.string()).nullish() })),
});

/** The name of an index entry; a bare ref.name is a tag of no repository (the OCI meaning), so no name. */
function ociName(annotations: Record<string, string> | null | undefined, what: string): string | undefined {
  const name = annotations?.[CONTAINERD_NAME_ANNOTATION] ?? annotations?.[REF_NAME_ANNOTATION];
  return name && /[/:]/.test(name) ? storedName(name, what) : undefined;
}

function ociImage(contents: ArchiveContents, digest: string, mediaType: string, names: string[]): LoadedImage {
  const where = `manifest ${digest}`;
  const manifestBytes = contents.metadataOf(blobMember(digest), 'manifest');
  verifyBytes(manifestBytes, digest);
  const parsed = parseManifest(manifestBytes, mediaType, `${contents.what} ${where}`);
  if (parsed.kind === 'index') {
    const chosen = selectPlatform(parsed.index.manifests, hostPlatform(), `${contents.what} ${where}`);
    return ociImage(contents, chosen.digest, chosen.mediaType, names);
  }
  const manifest: ImageManifest = parsed.manifest;
  const { configBytes, config } = readConfig(contents, blobMember(manifest.config.digest), manifest.config.digest);
  const staged = manifest.layers.map((descriptor) => {
    const s = contents.layerOf(blobMember(descriptor.digest));
    if (s.layer.compressedSize !== descriptor.size || layerCompression(descriptor.mediaType) !== layerCompression(s.layer.mediaType)) {
      throw new TspodError(`${contents.what}: layer ${descriptor.digest} does not match its descriptor in ${where}`, `${descriptor.mediaType}, ${descriptor.size} bytes`);
    }
    s.layer.mediaType = descriptor.mediaType;
    return s;
  });
  checkDiffIDs(contents, config, staged, where);
  const manifestInfo = { bytes: manifestBytes, mediaType: parsed.mediaType, layers: manifest.layers.map((d) => d.digest) };
  return { configBytes, config, manifest: manifestInfo, format: parsed.mediaType === MediaType.dockerManifest ? 'v2s2' : 'oci', staged, names };
}

function ociImages(contents: ArchiveContents): LoadedImage[] {
  const indexBytes = contents.metadataOf(OCI_INDEX, 'index');
  const index = parseManifest(indexBytes, MediaType.ociIndex, `${contents.what} index.json`);
  if (index.kind !== 'index') throw new TspodError(`${contents.what}: index.json is not an image index`);
  const { manifests } = parseJson(indexBytes, OciIndexAnnotations, 'index.json', contents.what);
  if (!index.index.manifests.length) throw new TspodError(`${contents.what}: index.json lists no image`);
  // One image per manifest, with every name the index gives it.
  const byDigest = new Map<string, { mediaType: string; names: string[] }>();
  index.index.manifests.forEach((d, i) => {
    const entry = byDigest.get(d.digest) ?? { mediaType: d.mediaType, names: [] };
    const name = ociName(manifests[i]?.annotations, contents.what);
    if (name && !entry.names.includes(name)) entry.names.push(name);
    byDigest.set(d.digest, entry);
  });
  return [...byDigest].map(([digest, { mediaType, names }]) => ociImage(contents, digest, mediaType, names));
}

function imagesOf(contents: ArchiveContents): LoadedImage[] {
  if (contents.metadata.has(DOCKER_MANIFEST)) {
    const entries = parseJson(contents.metadata.get(DOCKER_MANIFEST)!, DockerArchiveManifest, DOCKER_MANIFEST, contents.what);
    return entries.map((entry) => dockerImage(contents, entry));
  }
  if (contents.metadata.has(OCI_INDEX)) return ociImages(contents);
  throw new TspodError(`${contents.what} is neither a docker-archive nor an oci-archive`, 'it has no manifest.json or index.json');
}

/** Turns stream-level failures into one line that names the archive. */
function loadError(e: unknown, contents: ArchiveContents): unknown {
  if (isTspodError(e)) return e;
  const message = (e as Error).message ?? String(e);
  const code = (e as NodeJS.ErrnoException).code;
  const hint = 'load reads docker-archive and oci-archive files, plain or compressed with gzip or zstd';
  if (contents.members === 0 && /tar header|end of data/i.test(message)) return new TspodError(`${contents.what} is not a tar archive`, hint);
  if (/end of data|unexpected end of file|premature close/i.test(message)) return new TspodError(`${contents.what} is truncated`, 'it ends in the middle of a member; save it again');
  if (/tar header/i.test(message) || code?.startsWith('Z_')) return new TspodError(`${contents.what} is corrupt (${message})`, hint);
  return e;
}

function openInput(opts: LoadOptions): { source: Readable; what: string } {
  if (!opts.input) {
    if (opts.stdin.isTTY) throw new TspodError('requested load from stdin, but stdin is empty', 'use -i FILE or redirect an archive to stdin');
    return { source: opts.stdin, what: 'the archive on stdin' };
  }
  try {
    if (statSync(opts.input).isDirectory()) throw new TspodError(`${opts.input} is a directory`, 'give an archive file');
  } catch (e) {
    if (isTspodError(e)) throw e;
    throw new TspodError(`cannot open ${opts.input}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return { source: createReadStream(opts.input), what: opts.input };
}

/**
 * The store keeps one blob per layer: a layer it already has keeps its record (and blob). The
 * archive's manifest is kept when it names exactly those blobs (always, unless a layer came
 * compressed otherwise with another image); else one is built over them, which keeps the ID.
 */
function manifestFor(engine: Engine, image: LoadedImage): { bytes: Buffer; mediaType: string; layers: LayerRecord[] } {
  const known = new Map(engine.store.read().layers.map((l) => [l.diffID, l]));
  const layers = image.staged.map((s) => known.get(s.layer.diffID) ?? s.layer);
  const { manifest } = image;
  if (manifest && manifest.layers.every((digest, i) => digest === layers[i].digest)) return { ...manifest, layers };
  return { ...buildManifest(image.configBytes, layers, image.format), layers };
}

async function commitAll(engine: Engine, images: LoadedImage[]): Promise<{ results: LoadResult[]; leftovers: string[] }> {
  const committed = new Set<StagedLayer>();
  const results: LoadResult[] = [];
  const leftovers: string[] = [];
  for (const image of images) {
    const mine = image.staged.filter((s) => !committed.has(s));
    for (const s of mine) committed.add(s);
    const manifest = manifestFor(engine, image);
    const done = await commitImage(engine, {
      configBytes: image.configBytes,
      config: image.config,
      manifestBytes: manifest.bytes,
      manifestMediaType: manifest.mediaType,
      layers: manifest.layers,
      staged: [...new Set(mine)],
      names: image.names,
      digestNames: [],
    });
    leftovers.push(...done.leftovers);
    results.push({ id: done.image.id, names: image.names.map(displayName) });
  }
  return { results, leftovers };
}

export async function loadImages(engine: Engine, opts: LoadOptions): Promise<LoadResult[]> {
  const { source, what } = openInput(opts);
  const contents = new ArchiveContents(what);
  let results: LoadResult[];
  try {
    const { head, stream } = await peek(source, 8);
    if (!head.length) throw new TspodError(`${what} is empty`, 'give an archive written by save');
    const compression = compressionOf(head);
    if (compression === 'xz' || compression === 'bzip2') throw new TspodError(`${what} is ${compression}-compressed`, `decompress it first (${compression} -d) or use gzip or zstd`);
    const archive = compression === 'none' ? stream : stream.pipe(decompressor(layerMediaType(compression, 'oci')));
    if (archive !== stream) stream.on('error', (e) => archive.destroy(e));
    await readArchive(engine, archive, contents);
    const images = imagesOf(contents);
    const committed = await commitAll(engine, images);
    results = committed.results;
    const unused = contents.staged.filter((s) => !images.some((i) => i.staged.includes(s)));
    await purge(engine, [...committed.leftovers, ...unused.map((s) => s.staging)]);
  } catch (e) {
    source.destroy();
    if (contents.staged.length) await discardStaged(engine, contents.staged);
    throw loadError(e, contents);
  }
  for (const r of results) {
    await recordEvent(engine, { type: 'image', action: 'load', id: r.id, name: r.names[0] });
  }
  return results;
}
