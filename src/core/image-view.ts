/**
 * What `images` and `image inspect` show: Docker's columns and Docker/Podman-compatible
 * inspect fields, built from the store's records and the image's config blob.
 */
import { z } from 'zod';
import type { Engine } from './engine.js';
import { TspodError } from './errors.js';
import { familiarRepo, splitTaggedName } from './reference.js';
import { humanSize, timeAgo } from './humanize.js';
import { shortId } from './images.js';
import type { ImageRecord, StoreState } from '../store/image-store.js';

/** The parts of an OCI / Docker image config tspod reads. */
export const ImageConfig = z
  .object({
    created: z.string().optional(),
    author: z.string().optional(),
    architecture: z.string().default(''),
    variant: z.string().optional(),
    os: z.string().default(''),
    config: z
      .object({
        User: z.string().optional(),
        ExposedPorts: z.record(z.string(), z.object({}).passthrough()).nullish(),
        Env: z.array(z.string()).nullish(),
        Entrypoint: z.array(z.string()).nullish(),
        Cmd: z.array(z.string()).nullish(),
        Volumes: z.record(z.string(), z.object({}).passthrough()).nullish(),
        WorkingDir: z.string().optional(),
        Labels: z.record(z.string(), z.string()).nullish(),
        StopSignal: z.string().optional(),
      })
      .passthrough()
      .default({}),
    rootfs: z.object({ type: z.string(), diff_ids: z.array(z.string()) }),
    history: z
      .array(
        z.object({
          created: z.string().optional(),
          created_by: z.string().optional(),
          author: z.string().optional(),
          comment: z.string().optional(),
          empty_layer: z.boolean().optional(),
        }),
      )
      .default([]),
  })
  .passthrough();
export type ImageConfig = z.infer<typeof ImageConfig>;

export function readImageConfig(engine: Engine, image: ImageRecord): ImageConfig {
  return ImageConfig.parse(JSON.parse(engine.store.readBlob(image.id).toString('utf8')));
}

export interface ImageRow {
  Repository: string;
  Tag: string;
  ID: string;
  Digest: string;
  CreatedSince: string;
  CreatedAt: string;
  Size: string;
  /** full values, for --no-trunc and json */
  FullID: string;
  Names: string[];
  Dangling: boolean;
  Labels: Record<string, string>;
  VirtualSize: string;
}

export interface ListOptions {
  all: boolean;
  noTrunc: boolean;
  filters: string[];
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/**
 * One row per name, like Docker. An untagged image gets a row with tag <none> per repository it
 * was pulled from (its digests: pulled by digest, or its tag moved to another image), as Docker
 * shows it, or else a single <none>:<none> row.
 */
export function listImages(engine: Engine, state: StoreState, opts: ListOptions): ImageRow[] {
  const filters = parseImageFilters(opts.filters);
  const rows: ImageRow[] = [];
  const byNewest = [...state.images].sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
  for (const image of byNewest) {
    const dangling = image.names.length === 0;
    if (filters.dangling !== undefined && filters.dangling !== dangling) continue;
    const labels = filters.labels.length ? (readImageConfig(engine, image).config.Labels ?? {}) : {};
    if (!filters.labels.every(([k, v]) => k in labels && (v === undefined || labels[k] === v))) continue;
    const digestRepos = [...new Set(image.digests.map((d) => d.slice(0, d.indexOf('@'))))];
    const entries = dangling
      ? (digestRepos.length ? digestRepos : [undefined]).map((repo) => ({ repo, tag: '<none>' }))
      : image.names.map((name) => splitTaggedName(name));
    for (const { repo, tag } of entries) {
      const repository = repo ? familiarRepo(repo) : '<none>';
      if (filters.references.length && !filters.references.some((re) => re.test(repository) || re.test(`${repository}:${tag}`))) continue;
      const digest = (repo && image.digests.find((d) => d.startsWith(`${repo}@`))) ?? '';
      rows.push({
        Repository: repository,
        Tag: tag,
        ID: opts.noTrunc ? image.id : shortId(image.id),
        Digest: digest ? digest.slice(digest.indexOf('@') + 1) : '<none>',
        CreatedSince: timeAgo(image.created),
        CreatedAt: image.created,
        Size: humanSize(image.size),
        VirtualSize: humanSize(image.size),
        FullID: image.id,
        Names: image.names,
        Dangling: dangling,
        Labels: labels,
      });
    }
  }
  return rows;
}

interface ImageFilters {
  dangling?: boolean;
  references: RegExp[];
  labels: [string, string | undefined][];
}

function parseImageFilters(filters: string[]): ImageFilters {
  const result: ImageFilters = { references: [], labels: [] };
  for (const f of filters) {
    const eq = f.indexOf('=');
    const key = eq === -1 ? f : f.slice(0, eq);
    const value = eq === -1 ? '' : f.slice(eq + 1);
    switch (key) {
      case 'dangling':
        if (value !== 'true' && value !== 'false') throw filterError(f, 'dangling takes true or false');
        result.dangling = value === 'true';
        break;
      case 'reference':
        result.references.push(globToRegExp(value));
        break;
      case 'label': {
        const [k, v] = value.split(/=(.*)/s, 2);
        result.labels.push([k, v]);
        break;
      }
      default:
        throw filterError(f, 'supported filters: dangling=, reference=, label=');
    }
  }
  return result;
}

function filterError(filter: string, hint: string): TspodError {
  return new TspodError(`invalid filter "${filter}"`, hint);
}

/** Docker's `image inspect` object, with Podman's extra fields where they are cheap. */
export function inspectImage(engine: Engine, image: ImageRecord) {
  const config = readImageConfig(engine, image);
  const layerDirs = [...image.layers].reverse().map((d) => engine.store.layerDir(d));
  const c = config.config;
  return {
    Id: image.id,
    Digest: image.manifestDigest,
    RepoTags: image.names.map((n) => {
      const { repo, tag } = splitTaggedName(n);
      return `${familiarRepo(repo)}:${tag}`;
    }),
    RepoDigests: image.digests.map((d) => `${familiarRepo(d.slice(0, d.indexOf('@')))}${d.slice(d.indexOf('@'))}`),
    Parent: '',
    Comment: config.history.at(-1)?.comment ?? '',
    Created: image.created,
    Author: config.author ?? '',
    Config: {
      User: c.User ?? '',
      ExposedPorts: c.ExposedPorts ?? null,
      Env: c.Env ?? null,
      Entrypoint: c.Entrypoint ?? null,
      Cmd: c.Cmd ?? null,
      Volumes: c.Volumes ?? null,
      WorkingDir: c.WorkingDir ?? '',
      Labels: c.Labels ?? null,
      StopSignal: c.StopSignal ?? '',
    },
    Architecture: config.architecture,
    Variant: config.variant ?? '',
    Os: config.os,
    Size: image.size,
    VirtualSize: image.size,
    GraphDriver: {
      Name: 'overlay',
      Data: { LowerDir: layerDirs.join(':') },
    },
    RootFS: { Type: 'layers', Layers: image.layers },
    Metadata: { LastTagTime: image.added },
    ManifestType: image.manifestMediaType,
    History: config.history,
    Labels: c.Labels ?? null,
  };
}
