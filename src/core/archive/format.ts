/**
 * What save writes and load reads: Docker's archive (manifest.json naming each image's config and
 * layer tars, plus the legacy `repositories`) and the OCI image layout (oci-layout, index.json,
 * blobs/sha256), and the stream helpers both need.
 */
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { LayerCompression } from '../registry/index.js';

export const DOCKER_MANIFEST = 'manifest.json';
export const DOCKER_REPOSITORIES = 'repositories';
export const OCI_LAYOUT = 'oci-layout';
export const OCI_INDEX = 'index.json';
export const OCI_LAYOUT_VERSION = '{"imageLayoutVersion":"1.0.0"}';
/** The tag (Podman: the full name) of an index entry in an OCI layout. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** The full name Docker 25+ gives an index entry besides ref.name. */
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

/** One image of a docker-archive's manifest.json. */
export const DockerArchiveEntry = z.object({
  Config: z.string().min(1),
  RepoTags: z.array(z.string()).nullish(),
  Layers: z.array(z.string().min(1)),
});
export const DockerArchiveManifest = z.array(DockerArchiveEntry).min(1);
export type DockerArchiveEntry = z.infer<typeof DockerArchiveEntry>;

/** Where a blob lives in an OCI layout (and in Docker 25+ archives). */
export function blobMember(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

const MAGIC: Array<{ compression: Exclude<LayerCompression, 'none'> | 'xz' | 'bzip2'; bytes: number[] }> = [
  { compression: 'gzip', bytes: [0x1f, 0x8b] },
  { compression: 'zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { compression: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { compression: 'bzip2', bytes: [0x42, 0x5a, 0x68] },
];

/** How a stream is compressed, from its first bytes. */
export function compressionOf(head: Buffer): LayerCompression | 'xz' | 'bzip2' {
  return MAGIC.find((m) => m.bytes.every((b, i) => head[i] === b))?.compression ?? 'none';
}

/**
 * Reads the first `want` bytes (fewer at the end) of a stream, and gives back a stream of all of
 * it, those bytes included. Works for Node streams and streamx ones (tar-stream's entries).
 */
export async function peek(source: AsyncIterable<Buffer>, want: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = source[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < want) {
    const next = await it.next();
    if (next.done) {
      done = true;
      break;
    }
    parts.push(next.value);
    length += next.value.length;
  }
  const head = Buffer.concat(parts);
  async function* all(): AsyncGenerator<Buffer> {
    try {
      if (head.length) yield head;
      while (!done) {
        const next = await it.next();
        if (next.done) done = true;
        else yield next.value;
      }
    } finally {
      // The consumer gave up early: stop the source too.
      if (!done) await it.return?.();
    }
  }
  return { head, stream: Readable.from(all(), { objectMode: false }) };
}
