/** The registry client's public surface. */
export { RegistryClient, defaultEndpoint, type RegistryClientOptions, type FetchedManifest, type BlobResponse, type SchemeMemory, type V1SearchResult } from './client.js';
export { resolveImage, type ResolvedImage, type BlobDescriptor } from './resolve.js';
export { isDigest, parseDigest, digestOf, verifyBytes, verifyingStream, digestingStream, type DigestingStream, type DigestAlgorithm } from './digest.js';
export { layerCompression, parseManifest, MediaType, type LayerCompression, type Descriptor, type ImageManifest, type ImageIndex, type ParsedManifest } from './manifest.js';
export { hostPlatform, parsePlatform, formatPlatform, selectPlatform, type Platform } from './platform.js';
export type { Credentials } from './auth.js';
