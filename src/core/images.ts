/**
 * Local images: finding one by name, ID or digest, listing, tagging, removing and pruning.
 */
import { EXIT_ENGINE, TspodError, MultiError } from './errors.js';
import type { Engine } from './engine.js';
import { candidateReferences } from './registries.js';
import { familiarRepo, formatReference, parseReference, repoName, splitTaggedName } from './reference.js';
import type { ImageRecord, StoreState } from '../store/image-store.js';
import { hexOf } from '../store/image-store.js';
import { removeTree } from '../namespaces/extract.js';
import { readImageConfig } from './image-view.js';
import { matchesPruneFilter, needsLabels, parsePruneFilters } from './prune-filters.js';
import { recordEvent } from './events.js';
import { parseManifest } from './registry/manifest.js';

/** Podman's exit codes for rmi: 1 no such image, 2 image in use (other commands: 125). */
export const EXIT_NO_SUCH_IMAGE = 1;
export const EXIT_IMAGE_IN_USE = 2;

export function noSuchImage(input: string, exitCode = EXIT_ENGINE): TspodError {
  return new TspodError(`no such image: ${input}`, undefined, exitCode);
}

/** The store names a user's input may mean, most specific first. */
function candidateNames(engine: Engine, input: string): { names: string[]; digests: string[] } {
  let ref;
  try {
    ref = parseReference(input);
  } catch {
    return { names: [], digests: [] };
  }
  const refs = candidateReferences(engine.registries, input, ref);
  if (!ref.qualified) refs.push({ ...ref, registry: 'localhost', repository: ref.repository.replace(/^library\//, '') });
  const names: string[] = [];
  const digests: string[] = [];
  for (const r of refs) {
    if (r.digest) digests.push(`${repoName(r)}@${r.digest}`);
    else names.push(formatReference(r));
  }
  return { names, digests };
}

export interface ImageMatch {
  image: ImageRecord;
  /** the tagged name the user addressed, if they used one */
  name?: string;
}

/** Finds an image by ID (full or unique prefix), name[:tag], name@digest or bare digest. */
export function findImage(engine: Engine, state: StoreState, input: string): ImageMatch | undefined {
  const id = input.startsWith('sha256:') ? input.slice(7) : input;
  if (/^[a-f0-9]{64}$/.test(id)) {
    const image = state.images.find((i) => hexOf(i.id) === id || hexOf(i.manifestDigest) === id);
    if (image) return { image };
  }
  const { names, digests } = candidateNames(engine, input);
  for (const name of names) {
    const image = state.images.find((i) => i.names.includes(name));
    if (image) return { image, name };
  }
  for (const digest of digests) {
    const image = state.images.find((i) => i.digests.includes(digest) || i.manifestDigest === digest.slice(digest.indexOf('@') + 1));
    if (image) return { image };
  }
  if (/^[a-f0-9]{1,63}$/.test(id)) {
    const matches = state.images.filter((i) => hexOf(i.id).startsWith(id));
    if (matches.length === 1) return { image: matches[0] };
    if (matches.length > 1) throw new TspodError(`short ID "${id}" is ambiguous: it matches ${matches.length} images`, 'give more characters');
  }
  return undefined;
}

export function requireImage(engine: Engine, state: StoreState, input: string): ImageMatch {
  const match = findImage(engine, state, input);
  if (!match) throw noSuchImage(input);
  return match;
}

export function shortId(digest: string): string {
  return hexOf(digest).slice(0, 12);
}

/** A name taken away from an image by giving it to another. */
export interface MovedName {
  /** the image that lost it */
  id: string;
  name: string;
}

/** Gives `name` to `image`, taking it away from whichever image had it (returned). */
export function assignName(state: StoreState, image: ImageRecord, name: string): MovedName[] {
  const moved: MovedName[] = [];
  for (const other of state.images) {
    if (other === image || !other.names.includes(name)) continue;
    other.names = other.names.filter((n) => n !== name);
    moved.push({ id: other.id, name });
  }
  if (!image.names.includes(name)) image.names.push(name);
  return moved;
}

/** Docker's untag event for each name that moved to another image (tag, pull, load, commit, import). */
export async function recordMovedNames(engine: Engine, moved: MovedName[]): Promise<void> {
  for (const { id, name } of moved) await recordEvent(engine, { type: 'image', action: 'untag', id, name: displayName(name) });
}

/** The stored name a new name given by the user means (tag, commit, import): NAME[:TAG], no digest. */
export function newImageName(input: string): string {
  const ref = parseReference(input);
  if (ref.digest) throw new TspodError(`cannot tag with a digest: "${input}"`, 'give NAME[:TAG]');
  return formatReference(ref);
}

export async function tagImage(engine: Engine, source: string, targets: string[]): Promise<void> {
  const newNames = targets.map(newImageName);
  const { id, moved } = await engine.store.update((state) => {
    const { image } = requireImage(engine, state, source);
    return { id: image.id, moved: newNames.flatMap((name) => assignName(state, image, name)) };
  });
  await recordMovedNames(engine, moved);
  for (const name of newNames) await recordEvent(engine, { type: 'image', action: 'tag', id, name: displayName(name) });
}

export interface RemoveResult {
  untagged: string[];
  deleted: string[];
  /** one per input that could not be removed; the others were */
  error?: TspodError;
}

/**
 * Docker's rmi: a name untags (and deletes the image when it was its last name); an ID or
 * digest deletes, which needs force when the image has several repositories.
 */
export async function removeImages(engine: Engine, inputs: string[], opts: { force: boolean }): Promise<RemoveResult> {
  const result: RemoveResult = { untagged: [], deleted: [] };
  const errors: TspodError[] = [];
  let retired: string[] = [];
  let names: ImageNames[] = [];
  await engine.store.update((state) => {
    const before = [...state.images];
    names = namesOf(before);
    const inUse = imagesInUse(engine);
    for (const input of inputs) {
      try {
        const match = findImage(engine, state, input);
        if (!match) throw noSuchImage(input, EXIT_NO_SUCH_IMAGE);
        removeOne(state, match, opts.force, result, inUse);
      } catch (e) {
        if (!(e instanceof TspodError)) throw e;
        errors.push(e);
      }
    }
    retired = collectGarbage(engine, state, before);
  });
  await recordRemovals(engine, names, result.deleted);
  await purge(engine, retired);
  if (errors.length) result.error = errors.length === 1 ? errors[0] : new MultiError(errors, Math.max(...errors.map((e) => e.exitCode)));
  return result;
}

/** Container ids by the id of the image they were created from (read under the store lock). */
function imagesInUse(engine: Engine): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const c of engine.containers.read().containers) users.set(c.imageId, [...(users.get(c.imageId) ?? []), c.id]);
  return users;
}

function removeOne(state: StoreState, match: ImageMatch, force: boolean, result: RemoveResult, inUse: Map<string, string[]>): void {
  const { image, name } = match;
  if (name && image.names.length > 1) {
    image.names = image.names.filter((n) => n !== name);
    result.untagged.push(displayName(name));
    return;
  }
  const repos = new Set(image.names.map((n) => splitTaggedName(n).repo));
  if (!name && repos.size > 1 && !force) {
    // Docker's wording; exit 125 as Podman's for this conflict.
    throw new TspodError(`conflict: unable to delete ${shortId(image.id)} (must be forced) - image is referenced in multiple repositories`, 'use rmi -f or remove it by name');
  }
  // Its layers are the lower dirs of the containers' root filesystems.
  const containers = inUse.get(image.id);
  if (containers) {
    throw new TspodError(
      `image ${shortId(image.id)} is in use by container ${containers.map((id) => id.slice(0, 12)).join(', ')}`,
      'remove the container first (tspod rm)',
      EXIT_IMAGE_IN_USE,
    );
  }
  for (const n of image.names) result.untagged.push(displayName(n));
  for (const d of image.digests) result.untagged.push(displayName(d));
  state.images = state.images.filter((i) => i !== image);
  result.deleted.push(image.id);
}

/**
 * Drops layer records no image uses and moves their directories and unreferenced blobs (layers,
 * and the configs and manifests of the images that were in `before` and are gone) out of the live
 * tree (under the lock); the caller deletes them afterwards with purge().
 */
function collectGarbage(engine: Engine, state: StoreState, before: ImageRecord[]): string[] {
  const usedLayers = new Set(state.images.flatMap((i) => i.layers));
  const usedBlobs = new Set(state.images.flatMap((i) => [i.id, i.manifestDigest]));
  const retired: string[] = [];
  const goneImages = before.filter((i) => !state.images.includes(i));
  const extraBlobs = new Set(goneImages.flatMap((i) => extraLayerBlobs(engine, state, i)));
  if (extraBlobs.size > 0) for (const image of state.images) for (const digest of extraLayerBlobs(engine, state, image)) extraBlobs.delete(digest);
  for (const digest of extraBlobs) retired.push(...retireBlob(engine, digest));
  for (const gone of goneImages) {
    for (const digest of new Set([gone.id, gone.manifestDigest])) {
      if (!usedBlobs.has(digest)) retired.push(...retireBlob(engine, digest));
    }
  }
  const keep = [];
  for (const layer of state.layers) {
    if (usedLayers.has(layer.diffID)) {
      keep.push(layer);
      continue;
    }
    retired.push(engine.store.retire(engine.store.layerHome(layer.diffID)));
    retired.push(...retireBlob(engine, layer.digest));
  }
  state.layers = keep;
  return retired;
}

/**
 * The blobs an image's manifest names for layers the store keeps under another blob (the layer
 * came with another image first, compressed otherwise): only the images naming them keep them.
 */
function extraLayerBlobs(engine: Engine, state: StoreState, image: ImageRecord): string[] {
  let parsed;
  try {
    parsed = parseManifest(engine.store.readBlob(image.manifestDigest), image.manifestMediaType, image.id);
  } catch {
    return [];
  }
  if (parsed.kind !== 'manifest') return [];
  const recorded = new Set(state.layers.map((l) => l.digest));
  return parsed.manifest.layers.map((l) => l.digest).filter((d) => !recorded.has(d));
}

function retireBlob(engine: Engine, digest: string): string[] {
  return engine.store.hasBlob(digest) ? [engine.store.retire(engine.store.blobPath(digest))] : [];
}

interface ImageNames {
  image: ImageRecord;
  names: string[];
}

/** What each image was called before a removal. */
function namesOf(images: ImageRecord[]): ImageNames[] {
  return images.map((image) => ({ image, names: [...image.names] }));
}

/** Docker's events for a removal: an untag per name taken away, then a delete per image gone. */
async function recordRemovals(engine: Engine, before: ImageNames[], deleted: string[]): Promise<void> {
  for (const { image, names } of before) {
    const { id } = image;
    const gone = deleted.includes(id);
    for (const name of names.filter((n) => gone || !image.names.includes(n))) {
      await recordEvent(engine, { type: 'image', action: 'untag', id, name: displayName(name) });
    }
    if (gone) await recordEvent(engine, { type: 'image', action: 'delete', id, name: names[0] ? displayName(names[0]) : undefined });
  }
}

/** Deletes retired paths; layer trees hold files of subordinate ids, so inside the namespace. */
export async function purge(engine: Engine, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  const ns = await engine.namespace();
  await Promise.all(paths.map((p) => removeTree(ns, p)));
}

/**
 * Removes dangling images (with `all`, every image no container uses) that match the prune
 * filters (until=, label=, label!=; see prune-filters.ts).
 */
export async function pruneImages(engine: Engine, opts: { all: boolean; filters?: string[] }): Promise<RemoveResult & { reclaimed: number }> {
  const filter = parsePruneFilters(opts.filters ?? []);
  const labelsOf = (image: ImageRecord) => (needsLabels(filter) ? (readImageConfig(engine, image).config.Labels ?? {}) : {});
  const result: RemoveResult & { reclaimed: number } = { untagged: [], deleted: [], reclaimed: 0 };
  let retired: string[] = [];
  let names: ImageNames[] = [];
  await engine.store.update((state) => {
    const sizes = new Map(state.layers.map((l) => [l.diffID, l.size]));
    const images = [...state.images];
    names = namesOf(images);
    const inUse = imagesInUse(engine);
    const doomed = images.filter((i) => (opts.all || i.names.length === 0) && !inUse.has(i.id) && matchesPruneFilter(filter, i.created, labelsOf(i)));
    for (const image of doomed) removeOne(state, { image }, true, result, inUse);
    retired = collectGarbage(engine, state, images);
    const after = new Set(state.layers.map((l) => l.diffID));
    for (const [diffID, size] of sizes) if (!after.has(diffID)) result.reclaimed += size;
  });
  await recordRemovals(engine, names, result.deleted);
  await recordEvent(engine, { type: 'image', action: 'prune', id: '', attributes: { reclaimed: String(result.reclaimed) } });
  await purge(engine, retired);
  return result;
}

/** How Docker shows a stored full name: docker.io/library/debian:latest -> debian:latest. */
export function displayName(fullName: string): string {
  const at = fullName.indexOf('@');
  if (at !== -1) return `${familiarRepo(fullName.slice(0, at))}${fullName.slice(at)}`;
  const { repo, tag } = splitTaggedName(fullName);
  return `${familiarRepo(repo)}:${tag}`;
}
