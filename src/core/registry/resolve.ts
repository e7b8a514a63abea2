/** From an image reference to the verified manifest, config and layer list of one platform. */
import { TspodError } from '../errors.js';
import type { RegistryClient } from './client.js';
import { CONFIG_TYPES, layerCompression, type Descriptor } from './manifest.js';
import { hostPlatform, selectPlatform, type Platform } from './platform.js';

export interface BlobDescriptor {
  digest: string;
  size: number;
  mediaType: string;
}

export interface ResolvedImage {
  manifestDigest: string;
  manifestBytes: Buffer;
  manifestMediaType: string;
  config: BlobDescriptor;
  configBytes: Buffer;
  layers: BlobDescriptor[];
  /** Set when `reference` named an index (multi-platform image) and a platform was chosen from it. */
  indexDigest?: string;
}

/** Image configs are small JSON documents; this leaves room for very long histories. */
const MAX_CONFIG_BYTES = 16 << 20;

function blobDescriptor(d: Descriptor): BlobDescriptor {
  return { digest: d.digest, size: d.size, mediaType: d.mediaType };
}

/**
 * Resolves `reference` (a tag or a digest) in `repository`. An index is narrowed to `platform`
 * (default: this host). Everything returned has been verified against its digest, and every
 * layer has a media type tspod can unpack, so a pull can fail before it downloads anything big.
 */
export async function resolveImage(
  client: RegistryClient,
  repository: string,
  reference: string,
  platform: Platform = hostPlatform(),
): Promise<ResolvedImage> {
  const name = `${client.registry}/${repository}${reference.includes(':') ? '@' : ':'}${reference}`;
  let fetched = await client.getManifest(repository, reference);
  let indexDigest: string | undefined;
  if (fetched.kind === 'index') {
    indexDigest = fetched.digest;
    const entry = selectPlatform(fetched.index.manifests, platform, name);
    fetched = await client.getManifest(repository, entry.digest);
    if (fetched.bytes.length !== entry.size) {
      throw new TspodError(`size mismatch for ${entry.digest}`, `the index of ${name} says ${entry.size} bytes, got ${fetched.bytes.length}`);
    }
    if (fetched.kind === 'index') throw new TspodError(`${name} nests an index in an index, which is not supported`);
  }
  const { config, layers } = fetched.manifest;
  if (!CONFIG_TYPES.has(config.mediaType)) {
    throw new TspodError(`${name} is not a container image`, `its config has media type ${config.mediaType}`);
  }
  for (const layer of layers) layerCompression(layer.mediaType);
  if (config.size > MAX_CONFIG_BYTES) {
    throw new TspodError(`the config of ${name} is too large (${config.size} bytes)`);
  }
  const configBytes = await client.getBlobBytes(repository, config.digest, config.size);
  if (configBytes.length !== config.size) {
    throw new TspodError(`size mismatch for ${config.digest}`, `the manifest says ${config.size} bytes, got ${configBytes.length}`);
  }
  return {
    manifestDigest: fetched.digest,
    manifestBytes: fetched.bytes,
    manifestMediaType: fetched.mediaType,
    config: blobDescriptor(config),
    configBytes,
    layers: layers.map(blobDescriptor),
    ...(indexDigest ? { indexDigest } : {}),
  };
}
