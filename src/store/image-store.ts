/**
 * The image store's on-disk layout:
 *   ROOT/images.json            image records, tags and layer records (zod-validated)
 *   ROOT/blobs/sha256/HEX       content-addressed blobs: manifests, configs, compressed layers
 *   ROOT/layers/HEX/diff        an extracted layer, keyed by its diffID, shared by every image
 *   ROOT/tmp/PID-RANDOM         staging for downloads and extraction; renamed into place
 * Readers take the JSON without the lock (it is only ever replaced atomically); every write
 * re-reads it under the lock.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { TspodError } from '../core/errors.js';
import { JsonState } from './json-state.js';
import { withStoreLock } from './lock.js';
import { ensurePrivateDir, type StorePaths } from './paths.js';

const Digest = z.string().regex(/^sha256:[a-f0-9]{64}$/);

export const LayerRecord = z.object({
  diffID: Digest,
  /** digest and media type of the compressed blob it came from */
  digest: Digest,
  mediaType: z.string(),
  compressedSize: z.number(),
  size: z.number(),
});

export const ImageRecord = z.object({
  /** the config's digest, as Docker and Podman name images */
  id: Digest,
  /** fully qualified tagged names, e.g. docker.io/library/debian:latest */
  names: z.array(z.string()),
  /** fully qualified digested names, e.g. docker.io/library/debian@sha256:... */
  digests: z.array(z.string()),
  manifestDigest: Digest,
  manifestMediaType: z.string(),
  /** diffIDs, base layer first */
  layers: z.array(Digest),
  /** sum of the uncompressed layer sizes */
  size: z.number(),
  /** the image's own creation time, from its config */
  created: z.string(),
  /** when it entered this store */
  added: z.string(),
});

const StoreFile = z.object({
  version: z.literal(1),
  images: z.array(ImageRecord),
  layers: z.array(LayerRecord),
});

export type LayerRecord = z.infer<typeof LayerRecord>;
export type ImageRecord = z.infer<typeof ImageRecord>;
export type StoreState = z.infer<typeof StoreFile>;

const STATE_FILE = 'images.json';

export function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}

export class ImageStore {
  readonly root: string;

  private readonly state: JsonState<typeof StoreFile>;

  private constructor(readonly paths: StorePaths) {
    this.root = paths.root;
    this.state = new JsonState(paths.root, STATE_FILE, StoreFile, () => ({ version: 1 as const, images: [], layers: [] }), 'image store');
  }

  static open(paths: StorePaths): ImageStore {
    ensurePrivateDir(paths.root);
    for (const dir of ['blobs/sha256', 'layers', 'tmp']) mkdirSync(path.join(paths.root, dir), { recursive: true });
    return new ImageStore(paths);
  }

  read(): StoreState {
    return this.state.read();
  }

  /** Runs `fn` on a fresh copy of the state under the lock and writes the result atomically. */
  update<T>(fn: (state: StoreState) => T | Promise<T>): Promise<T> {
    return this.state.update(fn);
  }

  /** Like update, for work that must hold the lock but may not change the state. */
  async locked<T>(fn: () => T | Promise<T>): Promise<T> {
    return withStoreLock(this.root, fn);
  }

  blobPath(digest: string): string {
    return path.join(this.root, 'blobs', 'sha256', hexOf(digest));
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  readBlob(digest: string): Buffer {
    try {
      return readFileSync(this.blobPath(digest));
    } catch {
      throw new TspodError(`blob ${digest} is missing from the store`, 'pull the image again');
    }
  }

  /** The directory holding a layer's files: an overlay lowerdir. */
  layerDir(diffID: string): string {
    return path.join(this.root, 'layers', hexOf(diffID), 'diff');
  }

  layerHome(diffID: string): string {
    return path.join(this.root, 'layers', hexOf(diffID));
  }

  hasLayer(state: StoreState, diffID: string): boolean {
    return state.layers.some((l) => l.diffID === diffID) && existsSync(this.layerDir(diffID));
  }

  /** A fresh staging dir named after this process, so a later run can tell abandoned ones. */
  makeTempDir(): string {
    const dir = path.join(this.root, 'tmp', `${process.pid}-${randomBytes(6).toString('hex')}`);
    mkdirSync(dir, { mode: 0o700 });
    return dir;
  }

  /** Staging dirs whose process is gone (a killed pull). */
  abandonedTempDirs(): string[] {
    const tmp = path.join(this.root, 'tmp');
    return readdirSync(tmp)
      .filter((name) => {
        const pid = Number(name.split('-')[0]);
        return !(pid > 0 && isAlive(pid));
      })
      .map((name) => path.join(tmp, name));
  }

  /**
   * Moves a directory out of the live tree into tmp (atomic, under the caller's lock) so that
   * its slow deletion can happen without the lock.
   */
  retire(dir: string): string {
    const target = path.join(this.root, 'tmp', `${process.pid}-retired-${randomBytes(6).toString('hex')}`);
    renameSync(dir, target);
    return target;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
