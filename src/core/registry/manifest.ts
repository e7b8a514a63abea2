/** Media types, manifest and index schemas (Docker schema 2 and OCI), and layer compression. */
import { z } from 'zod';
import { TspodError } from '../errors.js';
import { isDigest } from './digest.js';

export const MediaType = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
} as const;

/** What a pull asks for, in order of preference. Schema 1 is deliberately absent. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.dockerManifestList,
  MediaType.ociManifest,
  MediaType.dockerManifest,
].join(', ');

const SCHEMA1 = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

const INDEX_TYPES = new Set<string>([MediaType.ociIndex, MediaType.dockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MediaType.ociManifest, MediaType.dockerManifest]);
export const CONFIG_TYPES = new Set<string>([MediaType.dockerConfig, MediaType.ociConfig]);

const LAYER_COMPRESSION: Record<string, 'gzip' | 'zstd' | 'none'> = {
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar.zstd': 'zstd',
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
};

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** How a layer blob is compressed, from its media type; throws for anything that is not a layer tar. */
export function layerCompression(mediaType: string): LayerCompression {
  const c = LAYER_COMPRESSION[mediaType];
  if (!c) throw new TspodError(`unsupported layer media type "${mediaType}"`);
  return c;
}

const digest = z.string().refine(isDigest, 'invalid digest');

const platformSchema = z.object({
  os: z.string().min(1),
  architecture: z.string().min(1),
  variant: z.string().optional(),
});

const descriptorSchema = z.object({
  mediaType: z.string().min(1),
  digest,
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  platform: platformSchema.optional(),
});

const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
});

const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema),
});

export type Descriptor = z.infer<typeof descriptorSchema>;
export type ImageManifest = z.infer<typeof manifestSchema>;
export type ImageIndex = z.infer<typeof indexSchema>;

export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: ImageIndex };

/**
 * Parses and validates manifest bytes. The media type comes from the document's own
 * `mediaType`, else from the Content-Type the registry sent, else from its shape (OCI allows
 * the field to be absent). `where` names the image in errors.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined, where: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new TspodError(`invalid manifest for ${where}`, 'not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new TspodError(`invalid manifest for ${where}`, 'not a JSON object');
  }
  const fields = doc as { mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown };
  const declared = typeof fields.mediaType === 'string' ? fields.mediaType : undefined;
  const header = contentType?.split(';')[0]!.trim();
  if (fields.schemaVersion === 1 || SCHEMA1.has(declared ?? '') || SCHEMA1.has(header ?? '')) {
    throw new TspodError(
      `${where} uses the Docker schema 1 manifest format, which is deprecated and not supported`,
      'push the image again with a current Docker, Podman or Buildah',
    );
  }
  const known = (t: string | undefined) => t !== undefined && (INDEX_TYPES.has(t) || MANIFEST_TYPES.has(t));
  const mediaType = known(declared)
    ? declared!
    : known(header)
      ? header!
      : Array.isArray(fields.manifests)
        ? MediaType.ociIndex
        : MediaType.ociManifest;
  if (declared !== undefined && declared !== mediaType) {
    throw new TspodError(`unsupported manifest media type "${declared}" for ${where}`);
  }
  const schema = INDEX_TYPES.has(mediaType) ? indexSchema : manifestSchema;
  const result = schema.safeParse(doc);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const at = issue.path.length ? `${issue.path.join('.')}: ` : '';
    throw new TspodError(`invalid manifest for ${where}`, `${at}${issue.message}`);
  }
  return INDEX_TYPES.has(mediaType)
    ? { kind: 'index', mediaType, index: result.data as ImageIndex }
    : { kind: 'manifest', mediaType, manifest: result.data as ImageManifest };
}
