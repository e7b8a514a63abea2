/**
 * tspod import: a tar of a root filesystem (a file, a URL or stdin; plain, gzip, zstd or xz,
 * told apart by their first bytes) becomes a one-layer image. The archive is streamed through
 * stageLayer like any layer: its digest computed, its content sanitized (no path may escape).
 */
import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { xzDecompressor } from './compression.js';
import { historyEntry, storeLayeredImage } from './commit.js';
import type { Engine } from './engine.js';
import { TspodError, isTspodError } from './errors.js';
import { recordEvent } from './events.js';
import { parseChanges } from './image-changes.js';
import { discardStaged, layerMediaType, stageLayer } from './image-ingest.js';
import { newImageName } from './images.js';
import { hostPlatform, parsePlatform } from './registry/index.js';
import { hexOf } from '../store/image-store.js';

export interface ImportOptions {
  /** Dockerfile instructions, see image-changes.ts */
  changes: string[];
  message?: string;
  /** REPOSITORY[:TAG] for the new image */
  name?: string;
  /** os/arch[/variant] recorded in the config (default: this host's) */
  platform?: string;
  /** what `-` reads */
  stdin: Readable;
}

const REDIRECTS = 5;

function download(url: string, redirects = REDIRECTS): Promise<Readable> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(url, (response) => {
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (status >= 300 && status < 400 && location && redirects > 0) {
        response.resume();
        resolve(download(new URL(location, url).href, redirects - 1));
      } else if (status !== 200) {
        response.resume();
        reject(new TspodError(`cannot download ${url}: HTTP ${status} ${response.statusMessage ?? ''}`.trim()));
      } else resolve(response);
    });
    request.on('error', (e) => reject(new TspodError(`cannot download ${url}: ${e.message}`)));
  });
}

async function openSource(source: string, stdin: Readable): Promise<Readable> {
  if (source === '-') return stdin;
  if (/^https?:\/\//i.test(source)) return download(source);
  const file = createReadStream(source);
  await new Promise<void>((resolve, reject) => {
    file.once('open', () => resolve());
    file.once('error', (e: NodeJS.ErrnoException) =>
      reject(new TspodError(`cannot read ${source}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, 'give a tar file, a URL, or - for stdin')),
    );
  });
  return file;
}

/** Reads up to `n` bytes without consuming them: the returned stream starts with them again. */
async function peek(stream: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const parts: Buffer[] = [];
  let size = 0;
  const iterator = stream[Symbol.asyncIterator]();
  while (size < n) {
    const next = await iterator.next();
    if (next.done) break;
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as string);
    parts.push(chunk);
    size += chunk.length;
  }
  const head = Buffer.concat(parts);
  async function* rest(): AsyncGenerator<Buffer> {
    try {
      if (head.length) yield head;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value as Buffer;
    } finally {
      await iterator.return?.();
    }
  }
  return { head: head.subarray(0, n), stream: Readable.from(rest(), { objectMode: false }) };
}

const TAR_MAGIC_OFFSET = 257;

/** The archive as stageLayer takes it: as stored (plain, gzip, zstd) or decompressed (xz). */
function layerOf(source: string, head: Buffer, stream: Readable): { stream: Readable; mediaType: string } {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (head.length === 0) throw new TspodError(`${source} is empty`, 'give a tar archive of a root filesystem');
  if (starts(0x1f, 0x8b)) return { stream, mediaType: layerMediaType('gzip', 'oci') };
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return { stream, mediaType: layerMediaType('zstd', 'oci') };
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return { stream: pipeline(stream, xzDecompressor(), () => undefined), mediaType: layerMediaType('none', 'oci') };
  if (head.toString('latin1', TAR_MAGIC_OFFSET, TAR_MAGIC_OFFSET + 5) === 'ustar') return { stream, mediaType: layerMediaType('none', 'oci') };
  throw new TspodError(`${source} is not a tar archive`, 'give a tar archive (plain, gzip, zstd or xz) of a root filesystem');
}

export async function importImage(engine: Engine, source: string, opts: ImportOptions): Promise<string> {
  // Everything the user gave is checked before anything is read or written.
  const applyChanges = parseChanges(opts.changes);
  const names = opts.name ? [newImageName(opts.name)] : [];
  const platform = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
  const label = source === '-' ? 'stdin' : source;

  const opened = await openSource(source, opts.stdin);
  let layer;
  try {
    const { head, stream } = await peek(opened, TAR_MAGIC_OFFSET + 5);
    layer = layerOf(label, head, stream);
  } catch (e) {
    opened.destroy();
    throw e;
  }
  const staged = await stageLayer(engine, { ...layer, label }).catch((e: unknown) => {
    // A corrupt compressed stream fails in zlib or the tool, with their words.
    throw isTspodError(e) ? e : new TspodError(`cannot import ${label}: ${(e as Error).message}`);
  });
  if (staged.layer.size === 0) {
    await discardStaged(engine, [staged]);
    throw new TspodError(`${label} holds no tar archive`, 'give a tar archive (plain, gzip, zstd or xz) of a root filesystem');
  }
  const created = new Date().toISOString();
  const config = {
    created,
    ...platform,
    config: applyChanges(undefined),
    rootfs: { type: 'layers', diff_ids: [staged.layer.diffID] },
    history: [historyEntry(created, `/bin/sh -c #(nop) ADD file:${hexOf(staged.layer.diffID)} in / `, undefined, opts.message ?? `Imported from ${source}`)],
  };
  const id = await storeLayeredImage(engine, { config, baseLayers: [], staged, format: 'oci', names });
  await recordEvent(engine, { type: 'image', action: 'import', id, name: names[0] ?? source, attributes: { source } });
  return id;
}
