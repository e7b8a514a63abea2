/**
 * A client for the distribution HTTP API v2: pulling and pushing manifests and blobs (uploads
 * monolithic or in chunks, cross-repository mounts), checking credentials, with anonymous,
 * Basic and Bearer-token authentication, extra CAs, and Docker's plain-HTTP rules.
 * One client talks to one registry; it is safe to use from concurrent transfers.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { PassThrough, Transform, type Readable } from 'node:stream';
import tls from 'node:tls';
import { TspodError } from '../errors.js';
import { basicAuthorization, fetchToken, parseChallenge, type Challenge, type Credentials, type Token } from './auth.js';
import { digestOf, isDigest, parseDigest, verifyBytes } from './digest.js';
import { discard, isLoopback, isTlsProtocolError, networkError, readBody, send, type SendOptions } from './http.js';
import { MANIFEST_ACCEPT, parseManifest, type ParsedManifest } from './manifest.js';

export interface RegistryClientOptions {
  /** host[:port] as the user named it (docker.io, quay.io, 127.0.0.1:5000); used in messages. */
  registry: string;
  /** host[:port] actually contacted, e.g. a mirror; defaults to the registry's own endpoint. */
  endpoint?: string;
  /** false: accept any certificate and fall back to plain HTTP (Docker's insecure registries). */
  tlsVerify?: boolean;
  /** PEM CA bundles trusted in addition to the system's (Docker's certs.d/<host>/*.crt). */
  caFiles?: string[];
  auth?: Credentials;
  /** Socket inactivity limit in ms (default 30 s). */
  timeoutMs?: number;
  /**
   * Remembers which endpoints answered over plain HTTP, across commands: a loopback registry
   * without TLS then costs no failed TLS handshake (and no TLS context) on every pull.
   */
  schemes?: SchemeMemory;
}

export interface SchemeMemory {
  isPlainHttp(endpoint: string): boolean;
  rememberPlainHttp(endpoint: string): void;
}

export type FetchedManifest = ParsedManifest & {
  /** The digest of `bytes`, verified. */
  digest: string;
  bytes: Buffer;
};

/** One result of Docker Hub's /v1/search. */
export interface V1SearchResult {
  name: string;
  description: string;
  starCount: number;
  isOfficial: boolean;
  isAutomated: boolean;
}

export interface BlobResponse {
  /** The raw blob, unverified: pipe it through verifyingStream(). Destroy it to abandon the download. */
  stream: Readable;
  /** Content-Length, when the registry sent one. */
  size?: number;
}

/**
 * What a request needs: pull access to its repository, or push too, and pull access to a
 * mount's source; or one explicit token scope (registry:catalog:*).
 */
interface Access {
  push?: boolean;
  mountFrom?: string;
  scope?: string;
}

/** A request body: bytes, or a function opening a stream (called again if the request is repeated). */
type Body = Buffer | (() => Readable);

interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Body;
  access?: Access;
  /** what errors name (default: registry/repository) */
  subject?: string;
}

/** The part of a blob an upload sends: bytes [start, end) as a stream. */
export type BlobOpener = (start: number, end: number) => Readable;

export interface UploadOptions {
  /** Blobs up to this size go in one PUT; larger ones in PATCH chunks of this size. */
  chunkSize: number;
  /** Bytes sent so far, as they go. */
  onProgress?: (sent: number) => void;
}

interface Connection {
  /** https://endpoint/ or http://endpoint/, decided once per client. */
  base: URL;
  /** What /v2/ asked for, if anything. */
  challenge?: Challenge;
}

/** Manifests are small; containerd refuses anything over 4 MiB too. */
const MAX_MANIFEST_BYTES = 4 << 20;
/** Catalog and tag lists: pages of LIST_PAGE names, at most MAX_LIST_PAGES of them. */
const LIST_PAGE = 100;
const MAX_LIST_PAGES = 1000;
const MAX_LIST_BYTES = 8 << 20;

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const TAG = /^\w[\w.-]{0,127}$/;

function checkRepository(repository: string): void {
  if (repository.length > 255 || !REPOSITORY.test(repository)) {
    throw new TspodError(`invalid repository name "${repository}"`, 'lowercase letters, digits and separators (. _ __ - /) only');
  }
}

function checkReference(reference: string): void {
  if (reference.includes(':')) parseDigest(reference);
  else if (!TAG.test(reference)) throw new TspodError(`invalid tag "${reference}"`);
}

/** The host a registry name is served from; Docker Hub's name and API host differ. */
export function defaultEndpoint(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
}

/** The first message of a distribution error body ({"errors":[{"code","message"}]}), if any. */
function registryMessage(body: Buffer): string | undefined {
  try {
    const first = (JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] }).errors?.[0];
    const text = first?.message ?? first?.code;
    return typeof text === 'string' && text ? text.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

export class RegistryClient {
  readonly registry: string;
  readonly endpoint: string;
  private readonly credentials?: Credentials;
  private readonly plainHttpAllowed: boolean;
  private readonly transport: SendOptions;
  private readonly schemes?: SchemeMemory;
  private connection?: Promise<Connection>;
  /** Bearer tokens by realm, service and scope; `token` is set once the fetch has succeeded. */
  private readonly tokens = new Map<string, { promise: Promise<Token>; token?: Token }>();

  constructor(opts: RegistryClientOptions) {
    this.registry = opts.registry;
    this.endpoint = defaultEndpoint(opts.endpoint ?? opts.registry);
    this.credentials = opts.auth;
    this.schemes = opts.schemes;
    const tlsVerify = opts.tlsVerify ?? true;
    this.plainHttpAllowed = !tlsVerify || isLoopback(this.endpoint);
    const extraCas = (opts.caFiles ?? []).map((file) => {
      try {
        return readFileSync(file, 'utf8');
      } catch (e) {
        throw new TspodError(`cannot read CA certificate ${file}`, (e as Error).message);
      }
    });
    this.transport = {
      httpAgent: new http.Agent({ keepAlive: true }),
      httpsAgent: new https.Agent({
        keepAlive: true,
        rejectUnauthorized: tlsVerify,
        ...(extraCas.length ? { ca: [...tls.rootCertificates, ...extraCas] } : {}),
      }),
      timeoutMs: opts.timeoutMs ?? 30_000,
    };
  }

  /** Fetches a manifest or index by tag or digest, verifies its digest and validates it. */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    checkRepository(repository);
    checkReference(reference);
    const byDigest = reference.includes(':');
    const name = `${this.registry}/${repository}${byDigest ? '@' : ':'}${reference}`;
    const res = await this.request(repository, `/v2/${repository}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT } });
    if (res.statusCode !== 200) throw await this.failure(res, `image not found: ${name}`, name);
    const bytes = await readBody(res, MAX_MANIFEST_BYTES, `manifest of ${name}`, this.endpoint);
    let digest: string;
    const header = res.headers['docker-content-digest'];
    if (byDigest) {
      verifyBytes(bytes, reference);
      digest = reference;
    } else if (typeof header === 'string' && isDigest(header)) {
      verifyBytes(bytes, header);
      digest = header;
    } else {
      digest = digestOf(bytes);
    }
    return { ...parseManifest(bytes, res.headers['content-type'], name), digest, bytes };
  }

  /** Starts a blob download. The caller verifies digest and size while streaming. */
  async getBlob(repository: string, digest: string): Promise<BlobResponse> {
    const res = await this.blobResponse(repository, digest);
    const stream = new PassThrough();
    res.on('error', (e) => stream.destroy(networkError(e, this.endpoint)));
    stream.on('close', () => {
      if (!res.complete) res.destroy();
    });
    res.pipe(stream);
    const length = Number(res.headers['content-length']);
    return { stream, size: res.headers['content-length'] && Number.isSafeInteger(length) ? length : undefined };
  }

  /** A whole small blob (an image config), verified against its digest. */
  async getBlobBytes(repository: string, digest: string, maxBytes: number): Promise<Buffer> {
    const res = await this.blobResponse(repository, digest);
    const bytes = await readBody(res, maxBytes, `blob ${digest}`, this.endpoint);
    verifyBytes(bytes, digest);
    return bytes;
  }

  /**
   * Docker Hub's search API (GET /v1/search); undefined when the registry has none (a plain
   * distribution registry answers 404). Sent anonymously, as Docker Hub allows.
   */
  async searchV1(term: string, limit: number): Promise<V1SearchResult[] | undefined> {
    const { base } = await this.connect();
    const url = new URL(`/v1/search?q=${encodeURIComponent(term)}&n=${limit}`, base);
    const res = await this.follow(url, { headers: { Accept: 'application/json' } }, undefined);
    if (res.statusCode === 404 || res.statusCode === 405) {
      discard(res);
      return undefined;
    }
    if (res.statusCode !== 200) throw await this.failure(res, `search API of ${this.registry} not found`, `the search API of ${this.registry}`);
    const body = await readBody(res, MAX_LIST_BYTES, `search results of ${this.registry}`, this.endpoint);
    try {
      const results = (JSON.parse(body.toString('utf8')) as { results?: unknown }).results;
      if (!Array.isArray(results)) throw new Error('no results array');
      return results.map((r: Record<string, unknown>) => ({
        name: String(r.name ?? ''),
        description: typeof r.description === 'string' ? r.description : '',
        starCount: Number(r.star_count) || 0,
        isOfficial: r.is_official === true,
        isAutomated: r.is_automated === true,
      }));
    } catch (e) {
      throw new TspodError(`registry ${this.registry} sent malformed search results`, (e as Error).message);
    }
  }

  /** Every repository name of GET /v2/_catalog, following its pagination (n/last, Link). */
  async catalog(): Promise<string[]> {
    return this.pagedList('', '/v2/_catalog', 'repositories', 'registry:catalog:*', `the catalog of ${this.registry}`);
  }

  /** Every tag of a repository (GET /v2/NAME/tags/list, paginated like the catalog). */
  async listTags(repository: string): Promise<string[]> {
    checkRepository(repository);
    return this.pagedList(repository, `/v2/${repository}/tags/list`, 'tags', `repository:${repository}:pull`, `${this.registry}/${repository}`);
  }

  private async pagedList(repository: string, first: string, key: string, scope: string, subject: string): Promise<string[]> {
    const items: string[] = [];
    let next: string | undefined = `${first}?n=${LIST_PAGE}`;
    for (let page = 0; next; page++) {
      if (page === MAX_LIST_PAGES) throw new TspodError(`${subject} has more than ${MAX_LIST_PAGES * LIST_PAGE} entries`, 'narrow the search');
      const res = await this.request(repository, next, { headers: { Accept: 'application/json' }, access: { scope }, subject });
      if (res.statusCode !== 200) throw await this.failure(res, `${subject} not found`, subject);
      const body = await readBody(res, MAX_LIST_BYTES, subject, this.endpoint);
      let list: unknown;
      try {
        list = (JSON.parse(body.toString('utf8')) as Record<string, unknown>)[key] ?? [];
      } catch (e) {
        throw new TspodError(`registry ${this.registry} sent a malformed list for ${subject}`, (e as Error).message);
      }
      if (!Array.isArray(list)) throw new TspodError(`registry ${this.registry} sent a malformed list for ${subject}`);
      items.push(...list.map(String));
      // Link: </v2/_catalog?last=x&n=100>; rel="next"
      const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(String(res.headers.link ?? ''));
      const target = link ? new URL(link[1]!, 'http://registry') : undefined;
      next = target && target.pathname + target.search;
    }
    return items;
  }

  /** Whether the repository has the blob already, so that a push can skip it. */
  async hasBlob(repository: string, digest: string): Promise<boolean> {
    checkRepository(repository);
    parseDigest(digest);
    const res = await this.request(repository, `/v2/${repository}/blobs/${digest}`, { method: 'HEAD', access: { push: true } });
    if (res.statusCode === 200 || res.statusCode === 404) {
      discard(res);
      return res.statusCode === 200;
    }
    throw await this.failure(res, `repository ${this.registry}/${repository} not found`, `${this.registry}/${repository}`);
  }

  /**
   * Starts a blob upload. With `mount`, asks the registry to link the blob from another of its
   * repositories instead (a cross-repository mount): undefined when it did, else the upload's
   * URL (a registry that cannot mount starts an ordinary upload).
   */
  async startUpload(repository: string, mount?: { digest: string; from: string }): Promise<URL | undefined> {
    checkRepository(repository);
    let target = `/v2/${repository}/blobs/uploads/`;
    if (mount) {
      parseDigest(mount.digest);
      checkRepository(mount.from);
      target += `?mount=${mount.digest}&from=${mount.from}`;
    }
    const name = `${this.registry}/${repository}`;
    const res = await this.request(repository, target, { method: 'POST', body: Buffer.alloc(0), access: { push: true, mountFrom: mount?.from } });
    if (mount && res.statusCode === 201) {
      discard(res);
      return undefined;
    }
    if (res.statusCode !== 202) throw await this.failure(res, `repository ${name} not found`, name);
    discard(res);
    return await this.uploadLocation(res, name);
  }

  /**
   * Sends a blob into an upload startUpload began: in one PUT when it fits opts.chunkSize, else
   * in PATCH chunks of that size and a closing PUT. The registry checks the digest.
   */
  async uploadBlob(repository: string, location: URL, blob: { digest: string; size: number }, open: BlobOpener, opts: UploadOptions): Promise<void> {
    const name = `${this.registry}/${repository}`;
    const part = (start: number, end: number): Body => () => {
      let sent = start;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          sent += chunk.length;
          opts.onProgress?.(sent);
          callback(null, chunk);
        },
      });
      const source = open(start, end);
      source.once('error', (e) => counter.destroy(e));
      return source.pipe(counter);
    };
    const octets = (length: number) => ({ 'Content-Type': 'application/octet-stream', 'Content-Length': String(length) });
    let url = location;
    let closing: Body = Buffer.alloc(0);
    let closingLength = 0;
    if (blob.size <= opts.chunkSize) {
      closing = part(0, blob.size);
      closingLength = blob.size;
    } else {
      for (let start = 0; start < blob.size; start += opts.chunkSize) {
        const end = Math.min(start + opts.chunkSize, blob.size);
        const res = await this.request(repository, url, {
          method: 'PATCH',
          headers: { ...octets(end - start), 'Content-Range': `${start}-${end - 1}` },
          body: part(start, end),
          access: { push: true },
        });
        if (res.statusCode !== 202) throw await this.failure(res, `upload of ${blob.digest} to ${name} not found`, name);
        discard(res);
        url = await this.uploadLocation(res, name);
      }
    }
    const done = new URL(url);
    done.searchParams.set('digest', blob.digest);
    const res = await this.request(repository, done, { method: 'PUT', headers: octets(closingLength), body: closing, access: { push: true } });
    if (res.statusCode !== 201) throw await this.failure(res, `upload of ${blob.digest} to ${name} not found`, name);
    discard(res);
  }

  /** Stores a manifest under a tag (or its digest) and returns its digest, as the registry confirmed it. */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    checkRepository(repository);
    checkReference(reference);
    const name = `${this.registry}/${repository}:${reference}`;
    const res = await this.request(repository, `/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'Content-Type': mediaType, 'Content-Length': String(bytes.length) },
      body: bytes,
      access: { push: true },
    });
    if (res.statusCode !== 201) throw await this.failure(res, `repository ${this.registry}/${repository} not found`, name);
    discard(res);
    const digest = digestOf(bytes);
    const confirmed = res.headers['docker-content-digest'];
    if (typeof confirmed === 'string' && isDigest(confirmed) && confirmed !== digest) {
      throw new TspodError(`registry ${this.registry} stored the manifest of ${name} as ${confirmed}`, `tspod sent ${digest}`);
    }
    return digest;
  }

  /**
   * Checks the client's credentials against the registry, as `login` does before it stores
   * them: Basic on /v2/, or a token from the registry's token server then /v2/ with it.
   */
  async checkCredentials(): Promise<void> {
    const { base, challenge } = await this.connect();
    // A registry that asks for nothing accepts any credentials (Docker and Podman store them).
    if (!challenge || !this.credentials) return;
    const authorization = challenge.scheme === 'basic'
      ? basicAuthorization(this.credentials)
      : (await fetchToken(challenge, [], this.credentials, this.registry, this.transport)).authorization;
    const res = await this.follow(new URL('/v2/', base), {}, authorization);
    discard(res);
    if (res.statusCode === 401) throw new TspodError(`invalid username or password for ${this.registry}`);
    if (res.statusCode !== 200) throw new TspodError(`registry ${this.registry} answered HTTP ${res.statusCode} to the login check`);
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.transport.httpAgent.destroy();
    this.transport.httpsAgent.destroy();
  }

  private async blobResponse(repository: string, digest: string): Promise<http.IncomingMessage> {
    checkRepository(repository);
    parseDigest(digest);
    const res = await this.request(repository, `/v2/${repository}/blobs/${digest}`);
    if (res.statusCode !== 200) {
      throw await this.failure(res, `blob ${digest} not found in ${this.registry}/${repository}`, `${this.registry}/${repository}`);
    }
    return res;
  }

  /** Learns once, with GET /v2/, whether to use https or http and what authentication is wanted. */
  private connect(): Promise<Connection> {
    this.connection ??= this.ping().catch((e: unknown) => {
      this.connection = undefined;
      throw e;
    });
    return this.connection;
  }

  private async ping(): Promise<Connection> {
    const plain = new URL(`http://${this.endpoint}/`);
    let base = new URL(`https://${this.endpoint}/`);
    let res: http.IncomingMessage | undefined;
    if (this.plainHttpAllowed && this.schemes?.isPlainHttp(this.endpoint)) {
      // Remembered from an earlier command; if it has moved to TLS since, https is tried next.
      res = await send(new URL('/v2/', plain), this.transport).catch(() => undefined);
      // A TLS port answers a plain request with 400: then it is https after all.
      if (res && res.statusCode !== 200 && res.statusCode !== 401) {
        discard(res);
        res = undefined;
      }
      if (res) base = plain;
    }
    if (!res) {
      try {
        res = await send(new URL('/v2/', base), this.transport);
      } catch (e) {
        if (!this.plainHttpAllowed || !isTlsProtocolError(e)) throw networkError(e, this.endpoint);
        base = plain;
        try {
          res = await send(new URL('/v2/', base), this.transport);
        } catch (e2) {
          throw networkError(e2, this.endpoint);
        }
        this.schemes?.rememberPlainHttp(this.endpoint);
      }
    }
    discard(res);
    const challenge = res.statusCode === 401 ? parseChallenge(res.headers['www-authenticate']) : undefined;
    return { base, challenge };
  }

  /** The next URL of an upload, from the registry's Location header. */
  private async uploadLocation(res: http.IncomingMessage, name: string): Promise<URL> {
    const location = res.headers.location;
    if (!location) throw new TspodError(`registry ${this.registry} answered an upload to ${name} without a location`);
    return new URL(location, (await this.connect()).base);
  }

  /** A request to the registry, authenticated as its challenge asks, retried once after a 401. */
  private async request(repository: string, target: string | URL, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const { base, challenge } = await this.connect();
    const url = new URL(target, base);
    const access = opts.access ?? {};
    const sent = await this.authorization(repository, challenge, access);
    let res = await this.follow(url, opts, sent);
    if (res.statusCode !== 401) return res;
    discard(res);
    // The token expired, or this repository wants a scope or scheme /v2/ did not announce.
    const fresh = parseChallenge(res.headers['www-authenticate']) ?? challenge;
    const retry = await this.authorization(repository, fresh, access, sent);
    if (retry !== undefined && retry !== sent) {
      res = await this.follow(url, opts, retry);
      if (res.statusCode !== 401) return res;
      discard(res);
    }
    const subject = opts.subject ?? `${this.registry}/${repository}`;
    if (!this.credentials) throw new TspodError(`authentication required for ${subject}`, 'log in with credentials for it');
    if (fresh?.scheme === 'basic') throw new TspodError(`invalid username or password for ${this.registry}`);
    const denied = access.push ? 'the credentials do not allow pushing to it' : 'the credentials do not allow pulling it';
    throw new TspodError(`access denied to ${subject}`, repository ? denied : undefined);
  }

  /** The Authorization header for a challenge; `stale` is one the registry just refused. */
  private async authorization(repository: string, challenge: Challenge | undefined, access: Access, stale?: string): Promise<string | undefined> {
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') return this.credentials && basicAuthorization(this.credentials);
    const wanted = access.scope ? [access.scope] : [`repository:${repository}:${access.push ? 'pull,push' : 'pull'}`];
    if (access.mountFrom) wanted.push(`repository:${access.mountFrom}:pull`);
    // A challenge may name scopes of its own (several, space-separated): ask for those too.
    const scopes = [...new Set([...wanted, ...(challenge.scope?.split(' ').filter(Boolean) ?? [])])];
    const key = `${challenge.realm.href} ${challenge.service ?? ''} ${scopes.join(' ')}`;
    const cached = this.tokens.get(key);
    if (cached && !cached.token) return (await cached.promise).authorization;
    if (cached?.token && cached.token.expiresAt > Date.now() && cached.token.authorization !== stale) {
      return cached.token.authorization;
    }
    const entry: { promise: Promise<Token>; token?: Token } = {
      promise: fetchToken(challenge, scopes, this.credentials, this.registry, this.transport),
    };
    this.tokens.set(key, entry);
    entry.promise.then(
      (token) => { entry.token = token; },
      () => { if (this.tokens.get(key) === entry) this.tokens.delete(key); },
    );
    return (await entry.promise).authorization;
  }

  /**
   * Sends the request and, for reads, follows redirects (blob storage), never leaking
   * credentials off the registry.
   */
  private async follow(url: URL, opts: RequestOptions, authorization: string | undefined): Promise<http.IncomingMessage> {
    const origin = url.origin;
    const { method = 'GET', headers = {}, body } = opts;
    for (let hops = 0; ; hops++) {
      const withAuth = authorization && url.origin === origin ? { ...headers, Authorization: authorization } : headers;
      let res: http.IncomingMessage;
      try {
        res = await send(url, { ...this.transport, method, headers: withAuth, body: typeof body === 'function' ? body() : body });
      } catch (e) {
        throw networkError(e, url.host);
      }
      const location = res.headers.location;
      const redirect = (method === 'GET' || method === 'HEAD') && [301, 302, 303, 307, 308].includes(res.statusCode ?? 0);
      if (!redirect || !location) return res;
      discard(res);
      if (hops === 5) throw new TspodError(`too many redirects from registry ${this.registry}`);
      url = new URL(location, url);
    }
  }

  /** The error for an unexpected status; `notFound` is the message for a 404. */
  private async failure(res: http.IncomingMessage, notFound: string, subject: string): Promise<TspodError> {
    const body = await readBody(res, 64 << 10, 'error body', this.endpoint).catch(() => Buffer.alloc(0));
    const detail = registryMessage(body);
    switch (res.statusCode) {
      case 404:
        return new TspodError(notFound, detail);
      case 403:
        return new TspodError(`access denied to ${subject}`, detail);
      case 429:
        return new TspodError(`too many requests to registry ${this.registry}`, detail ?? 'try again later');
      default:
        return new TspodError(`registry ${this.registry} answered HTTP ${res.statusCode} for ${subject}`, detail);
    }
  }
}
