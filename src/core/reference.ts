/**
 * Image references with Docker's grammar and normalization:
 * `debian` = docker.io/library/debian:latest, `host:5000/a/b@sha256:...`.
 */
import { TspodError } from './errors.js';

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';

export interface ImageReference {
  /** host[:port], e.g. docker.io or 127.0.0.1:5000 */
  registry: string;
  /** path inside the registry, e.g. library/debian */
  repository: string;
  tag?: string;
  /** algorithm:hex */
  digest?: string;
  /** Whether the user named a registry (otherwise search registries and aliases apply). */
  qualified: boolean;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;

function invalid(input: string, why: string): TspodError {
  return new TspodError(`invalid reference format "${input}": ${why}`, 'use [REGISTRY/]NAME[:TAG][@DIGEST], e.g. debian:bookworm');
}

export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

export function parseReference(input: string): ImageReference {
  if (!input) throw invalid(input, 'empty name');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(input, `bad digest "${digest}"`);
    if (digest.startsWith('sha256:') && !SHA256.test(digest)) throw invalid(input, 'a sha256 digest has 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `bad tag "${tag}"`);
  }
  let registry = DEFAULT_REGISTRY;
  let qualified = false;
  const parts = rest.split('/');
  const first = parts[0];
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    if (!HOST.test(first)) throw invalid(input, `bad registry host "${first}"`);
    registry = first === 'index.docker.io' || first === 'registry-1.docker.io' ? DEFAULT_REGISTRY : first;
    qualified = true;
    parts.shift();
  }
  if (parts.length === 0 || parts.some((p) => p === '')) throw invalid(input, 'empty path component');
  for (const p of parts) {
    if (!COMPONENT.test(p)) {
      throw invalid(input, p.toLowerCase() !== p ? 'repository name must be lowercase' : `bad name component "${p}"`);
    }
  }
  if (registry === DEFAULT_REGISTRY && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (repository.length > 255) throw invalid(input, 'repository name longer than 255 characters');
  return { registry, repository, tag: tag ?? (digest ? undefined : DEFAULT_TAG), digest, qualified };
}

/** registry/repository, e.g. docker.io/library/debian */
export function repoName(ref: Pick<ImageReference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The fully qualified name, e.g. docker.io/library/debian:latest or ...@sha256:... */
export function formatReference(ref: ImageReference): string {
  let s = repoName(ref);
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

/** Docker's familiar form of a repository: docker.io/library/debian -> debian. */
export function familiarRepo(fullRepo: string): string {
  if (fullRepo.startsWith(`${DEFAULT_REGISTRY}/library/`)) return fullRepo.slice(`${DEFAULT_REGISTRY}/library/`.length);
  if (fullRepo.startsWith(`${DEFAULT_REGISTRY}/`)) return fullRepo.slice(DEFAULT_REGISTRY.length + 1);
  return fullRepo;
}

/** Splits a stored full name "registry/repo:tag" into repository and tag. */
export function splitTaggedName(name: string): { repo: string; tag: string } {
  const colon = name.lastIndexOf(':');
  const slash = name.lastIndexOf('/');
  if (colon > slash) return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repo: name, tag: DEFAULT_TAG };
}
