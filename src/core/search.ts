/**
 * `search TERM`: the registries' own search API where they have one (Docker Hub's /v1/search),
 * else the repositories of their catalog (/v2/_catalog) whose name contains the term, as Podman
 * does. A term may name its registry (`127.0.0.1:5000/busy`); otherwise every registry of
 * registries.json's search order is searched.
 */
import { credentialsFor } from './auth-file.js';
import type { Engine } from './engine.js';
import { TspodError, isTspodError } from './errors.js';
import { certFiles } from './pull.js';
import { DEFAULT_REGISTRY, familiarRepo, parseReference } from './reference.js';
import { registryEntry } from './registries.js';
import { RegistryClient } from './registry/index.js';
import { PlainHttpMemory } from '../store/plain-http-memory.js';

export interface SearchOptions {
  /** results per registry, 1..100 */
  limit: number;
  /** is-official=BOOL, is-automated=BOOL, stars=N */
  filters: string[];
  tlsVerify?: boolean;
  authfile?: string;
  certDir?: string;
}

export interface SearchResult {
  /** the registry searched, e.g. docker.io */
  index: string;
  /** as Docker shows it: busybox, user/app, 127.0.0.1:5000/app */
  name: string;
  description: string;
  stars: number;
  official: boolean;
  automated: boolean;
}

export interface TagResult {
  name: string;
  tag: string;
}

export interface SearchReport<T> {
  results: T[];
  /** registries that failed while others answered (if all fail, searchImages throws) */
  failures: TspodError[];
}

export const DEFAULT_SEARCH_LIMIT = 25;

interface SearchFilters {
  official?: boolean;
  automated?: boolean;
  stars: number;
}

function parseFilters(filters: string[]): SearchFilters {
  const parsed: SearchFilters = { stars: 0 };
  for (const f of filters) {
    const [key, value] = f.split(/=(.*)/s, 2);
    const bool = () => {
      if (value !== 'true' && value !== 'false') throw new TspodError(`invalid filter '${f}'`, `${key} takes true or false`);
      return value === 'true';
    };
    if (key === 'is-official') parsed.official = bool();
    else if (key === 'is-automated') parsed.automated = bool();
    else if (key === 'stars') {
      if (!/^\d+$/.test(value ?? '')) throw new TspodError(`invalid filter '${f}'`, 'stars takes a number');
      parsed.stars = Number(value);
    } else throw new TspodError(`invalid filter '${f}'`, 'supported filters: is-official=BOOL, is-automated=BOOL, stars=N');
  }
  return parsed;
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new TspodError(`limit ${limit} is outside the range of [1, 100]`);
}

/** Docker's split of a search term: a first component that looks like a host names the registry. */
function splitTerm(engine: Engine, term: string): { registries: string[]; term: string } {
  const slash = term.indexOf('/');
  const first = slash === -1 ? '' : term.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') return { registries: [first], term: term.slice(slash + 1) };
  if (!term) throw new TspodError('the search term is empty', 'give a TERM, or REGISTRY/ to list a registry');
  return { registries: engine.registries.unqualifiedSearchRegistries, term };
}

function clientFor(engine: Engine, registry: string, opts: SearchOptions & { searchApi: boolean }, schemes: PlainHttpMemory): RegistryClient {
  const entry = registryEntry(engine.registries, registry);
  if (entry.blocked) throw new TspodError(`registry ${registry} is blocked in registries.json`);
  return new RegistryClient({
    registry,
    // Docker Hub's search API lives on its index host, not on registry-1.
    endpoint: opts.searchApi && registry === DEFAULT_REGISTRY ? 'index.docker.io' : undefined,
    tlsVerify: opts.tlsVerify !== false && !entry.insecure,
    caFiles: certFiles(engine, registry, opts.certDir),
    schemes,
    auth: credentialsFor(registry, opts.authfile),
  });
}

/** Runs `fn` on each registry's client; fails only when every registry failed. */
async function eachRegistry<T>(
  engine: Engine,
  registries: string[],
  opts: SearchOptions & { searchApi: boolean },
  fn: (client: RegistryClient, registry: string) => Promise<T[]>,
): Promise<SearchReport<T>> {
  const schemes = new PlainHttpMemory(engine.paths.runroot);
  const report: SearchReport<T> = { results: [], failures: [] };
  for (const registry of registries) {
    let client: RegistryClient | undefined;
    try {
      client = clientFor(engine, registry, opts, schemes);
      report.results.push(...(await fn(client, registry)));
    } catch (e) {
      if (!isTspodError(e)) throw e;
      report.failures.push(e);
    } finally {
      client?.close();
    }
  }
  if (report.failures.length === registries.length && report.failures.length) throw report.failures[0];
  return report;
}

export async function searchImages(engine: Engine, input: string, opts: SearchOptions): Promise<SearchReport<SearchResult>> {
  checkLimit(opts.limit);
  const filters = parseFilters(opts.filters);
  const { registries, term } = splitTerm(engine, input);
  const wanted = (r: SearchResult) =>
    r.stars >= filters.stars && (filters.official === undefined || r.official === filters.official) && (filters.automated === undefined || r.automated === filters.automated);
  return eachRegistry(engine, registries, { ...opts, searchApi: true }, async (client, registry) => {
    const found = await client.searchV1(term, opts.limit);
    const results: SearchResult[] = found
      ? found.map((r) => ({
          index: registry,
          name: familiarRepo(`${registry}/${r.name}`),
          description: r.description,
          stars: r.starCount,
          official: r.isOfficial,
          automated: r.isAutomated,
        }))
      : (await client.catalog())
          .filter((repo) => repo.includes(term))
          .map((repo) => ({ index: registry, name: familiarRepo(`${registry}/${repo}`), description: '', stars: 0, official: false, automated: false }));
    return results.filter(wanted).slice(0, opts.limit);
  });
}

/** Podman's `search --list-tags REPOSITORY`: the repository's tags, at most `limit`. */
export async function listRepositoryTags(engine: Engine, input: string, opts: SearchOptions): Promise<SearchReport<TagResult>> {
  checkLimit(opts.limit);
  if (opts.filters.length) throw new TspodError('filters are not supported with --list-tags');
  const ref = parseReference(input);
  if (ref.tag !== 'latest' || ref.digest || /[:@]/.test(input.slice(input.lastIndexOf('/') + 1))) {
    throw new TspodError(`--list-tags takes a repository without tag or digest, not "${input}"`);
  }
  const registries = ref.qualified ? [ref.registry] : engine.registries.unqualifiedSearchRegistries;
  return eachRegistry(engine, registries, { ...opts, searchApi: false }, async (client, registry) => {
    const repository = registry === DEFAULT_REGISTRY || ref.qualified ? ref.repository : ref.repository.replace(/^library\//, '');
    const name = familiarRepo(`${registry}/${repository}`);
    return (await client.listTags(repository)).slice(0, opts.limit).map((tag) => ({ name, tag }));
  });
}
