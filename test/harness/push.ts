/**
 * A minimal image pusher for seeding test registries: monolithic blob uploads and manifest PUTs
 * over node:http/https. It answers Basic and Bearer challenges with the target's credentials.
 * Deliberately independent of src/core/registry so tests of the client do not seed through it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

export interface PushTarget {
  /** http(s)://host:port */
  url: string;
  caFile?: string;
  auth?: { username: string; password: string };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export function sha256Digest(data: Buffer): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

function send(t: PushTarget, method: string, url: URL, headers: Record<string, string>, body?: Buffer): Promise<Reply> {
  const mod = url.protocol === 'https:' ? https : http;
  const options: https.RequestOptions = { method, headers: { ...headers, 'Content-Length': String(body?.length ?? 0) } };
  if (url.protocol === 'https:' && t.caFile) options.ca = readFileSync(t.caFile);
  return new Promise((resolve, reject) => {
    const req = mod.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function basic(t: PushTarget): string | undefined {
  return t.auth ? 'Basic ' + Buffer.from(`${t.auth.username}:${t.auth.password}`).toString('base64') : undefined;
}

/** Parses `Bearer realm="...",service="...",scope="..."`. */
function challengeParams(header: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!] = m[2]!;
  return params;
}

const tokens = new WeakMap<PushTarget, string>();

async function authorization(t: PushTarget, challenge: string | undefined): Promise<string | undefined> {
  if (!challenge || /^basic/i.test(challenge)) return basic(t);
  const p = challengeParams(challenge);
  const realm = new URL(p.realm!);
  if (p.service) realm.searchParams.set('service', p.service);
  if (p.scope) realm.searchParams.set('scope', p.scope);
  const headers: Record<string, string> = {};
  const b = basic(t);
  if (b) headers.Authorization = b;
  const r = await send(t, 'GET', realm, headers);
  if (r.status !== 200) throw new Error(`token server ${realm.origin} answered ${r.status}: ${r.body}`);
  const json = JSON.parse(r.body.toString()) as { token?: string; access_token?: string };
  return 'Bearer ' + (json.token ?? json.access_token);
}

/** Sends a request, answering one 401 challenge. Bodies are Buffers, so resending is safe. */
async function request(t: PushTarget, method: string, url: URL, headers: Record<string, string>, body?: Buffer): Promise<Reply> {
  const cached = tokens.get(t) ?? basic(t);
  let r = await send(t, method, url, cached ? { ...headers, Authorization: cached } : headers, body);
  if (r.status === 401) {
    const auth = await authorization(t, r.headers['www-authenticate'] as string | undefined);
    if (auth) {
      if (auth.startsWith('Bearer ')) tokens.set(t, auth);
      r = await send(t, method, url, { ...headers, Authorization: auth }, body);
    }
  }
  return r;
}

function expect(r: Reply, status: number, what: string): void {
  if (r.status !== status) throw new Error(`${what}: HTTP ${r.status}: ${r.body.toString().slice(0, 500)}`);
}

export async function pushBlob(t: PushTarget, repo: string, data: Buffer): Promise<string> {
  const digest = sha256Digest(data);
  const base = new URL(t.url);
  const head = await request(t, 'HEAD', new URL(`/v2/${repo}/blobs/${digest}`, base), {});
  if (head.status === 200) return digest;
  const start = await request(t, 'POST', new URL(`/v2/${repo}/blobs/uploads/`, base), {});
  expect(start, 202, `start upload to ${repo}`);
  const location = new URL(start.headers.location!, base);
  location.searchParams.set('digest', digest);
  const put = await request(t, 'PUT', location, { 'Content-Type': 'application/octet-stream' }, data);
  expect(put, 201, `upload ${digest} to ${repo}`);
  return digest;
}

export async function pushManifest(t: PushTarget, repo: string, ref: string, body: Buffer, mediaType: string): Promise<string> {
  const r = await request(t, 'PUT', new URL(`/v2/${repo}/manifests/${ref}`, t.url), { 'Content-Type': mediaType }, body);
  expect(r, 201, `put manifest ${repo}:${ref}`);
  return sha256Digest(body);
}

export const MEDIA = {
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    index: 'application/vnd.oci.image.index.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
    layerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
    layerTar: 'application/vnd.oci.image.layer.v1.tar',
  },
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
    layerTar: 'application/vnd.docker.image.rootfs.diff.tar',
  },
} as const;

export async function pushImage(
  t: PushTarget,
  repo: string,
  tag: string,
  img: { config: object; layers: { data: Buffer; mediaType: string }[]; format?: 'oci' | 'docker' },
): Promise<{ manifestDigest: string; configDigest: string; manifest: Buffer }> {
  const media = MEDIA[img.format ?? 'oci'];
  const configBytes = Buffer.from(JSON.stringify(img.config));
  const configDigest = await pushBlob(t, repo, configBytes);
  const layers = [];
  for (const l of img.layers) {
    layers.push({ mediaType: l.mediaType, size: l.data.length, digest: await pushBlob(t, repo, l.data) });
  }
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: media.manifest,
    config: { mediaType: media.config, size: configBytes.length, digest: configDigest },
    layers,
  }));
  const manifestDigest = await pushManifest(t, repo, tag, manifest, media.manifest);
  return { manifestDigest, configDigest, manifest };
}
