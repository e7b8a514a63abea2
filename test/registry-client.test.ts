/**
 * The registry client against real loopback registries (Debian's docker-registry): plain HTTP,
 * TLS, htpasswd basic auth, Bearer tokens, a tampering proxy, and one that is not running.
 */
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isTspodError, type TspodError } from '../src/core/errors.js';
import {
  RegistryClient,
  formatPlatform,
  hostPlatform,
  layerCompression,
  parseManifest,
  parsePlatform,
  resolveImage,
  selectPlatform,
  verifyingStream,
  type BlobDescriptor,
  type Platform,
} from '../src/core/registry/index.js';
import { MEDIA, pushImage, pushManifest, sha256Digest, type PushTarget } from './harness/push.js';
import { freePort, startRegistry, type TestRegistry } from './harness/registry.js';
import { startTamperProxy, type TamperProxy } from './harness/tamper-proxy.js';
import { startTokenServer, type TokenServer } from './harness/token-server.js';

const USER = { username: 'alice', password: 'wonderland' };

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mtime: new Date(0) }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const zstd = (data: Buffer) => execFileSync('zstd', ['-q', '-c'], { input: data });

function configFor(p: Platform, layers: Buffer[]): object {
  return {
    ...p,
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map(sha256Digest) },
  };
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(isTspodError(e), `expected a TspodError, got ${(e as Error).stack}`);
    const line = (e as TspodError).line;
    assert.match(line, re);
    assert.not.match(line, /\n/);
    return;
  }
  assert.unreachable(`expected a rejection matching ${re}`);
}

function throwsLine(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => isTspodError(e) && re.test(e.line));
}

async function download(client: RegistryClient, repo: string, d: BlobDescriptor): Promise<Buffer> {
  const { stream, size } = await client.getBlob(repo, d.digest);
  assert.is(size, d.size);
  const chunks: Buffer[] = [];
  const sink = new Writable({ write(c: Buffer, _e, cb) { chunks.push(c); cb(); } });
  await pipeline(stream, verifyingStream(d.digest, d.size), sink);
  return Buffer.concat(chunks);
}

const test = suite('registry client');

const env = {} as {
  plain: TestRegistry;
  tls: TestRegistry;
  basic: TestRegistry;
  token: TestRegistry;
  tokenServer: TokenServer;
  blobProxy: TamperProxy;
  manifestProxy: TamperProxy;
  tars: Buffer[];
  oci: Awaited<ReturnType<typeof pushImage>>;
  docker: Awaited<ReturnType<typeof pushImage>>;
  perPlatform: Map<string, string>;
  indexDigest: string;
};

/** The host platform plus two others, for the multi-platform images. */
function indexPlatforms(): Platform[] {
  const host = hostPlatform();
  const others: Platform[] = [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64', variant: 'v8' },
    { os: 'linux', architecture: 'arm', variant: 'v7' },
  ].filter((p) => p.architecture !== host.architecture);
  return [host, ...others.slice(0, 2)];
}

async function pushMultiPlatform(t: PushTarget, repo: string): Promise<void> {
  const tarball = await tarOf({ 'etc/hostname': 'multi\n' });
  const layer = gzipSync(tarball);
  const entries = [];
  env.perPlatform = new Map();
  for (const p of indexPlatforms()) {
    const pushed = await pushImage(t, repo, formatPlatform(p).replaceAll('/', '-'), {
      config: configFor(p, [tarball]),
      layers: [{ data: layer, mediaType: MEDIA.oci.layerGzip }],
    });
    env.perPlatform.set(formatPlatform(p), pushed.manifestDigest);
    entries.push({ mediaType: MEDIA.oci.manifest, digest: pushed.manifestDigest, size: pushed.manifest.length, platform: p });
  }
  // buildx puts attestations in the index as unknown/unknown; they are never a candidate.
  const first = entries[0]!;
  entries.push({ ...first, platform: { os: 'unknown', architecture: 'unknown' } });
  const oci = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.oci.index, manifests: entries }));
  env.indexDigest = await pushManifest(t, repo, 'latest', oci, MEDIA.oci.index);
  const list = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.docker.index, manifests: entries.slice(0, -1) }));
  await pushManifest(t, repo, 'docker', list, MEDIA.docker.index);
}

test.before(async () => {
  env.tokenServer = await startTokenServer({ users: { [USER.username]: USER.password } });
  [env.plain, env.tls, env.basic, env.token] = await Promise.all([
    startRegistry(),
    startRegistry({ tls: true }),
    startRegistry({ tls: true, auth: USER }),
    startRegistry({ token: env.tokenServer.auth }),
  ]);
  env.blobProxy = await startTamperProxy(env.plain.url);
  env.manifestProxy = await startTamperProxy(env.plain.url, { match: /\/manifests\// });

  env.tars = [
    await tarOf({ 'a.txt': 'gzip layer\n' }),
    await tarOf({ 'b.txt': 'zstd layer\n' }),
    await tarOf({ 'c.txt': 'plain layer\n' }),
  ];
  const [g, z, n] = env.tars as [Buffer, Buffer, Buffer];
  const config = configFor(hostPlatform(), env.tars);
  const plain: PushTarget = { url: env.plain.url };
  env.oci = await pushImage(plain, 'test/oci', 'v1', {
    config,
    layers: [
      { data: gzipSync(g), mediaType: MEDIA.oci.layerGzip },
      { data: zstd(z), mediaType: MEDIA.oci.layerZstd },
      { data: n, mediaType: MEDIA.oci.layerTar },
    ],
  });
  env.docker = await pushImage(plain, 'test/docker', 'v1', {
    format: 'docker',
    config,
    layers: [
      { data: gzipSync(g), mediaType: MEDIA.docker.layerGzip },
      { data: n, mediaType: MEDIA.docker.layerTar },
      { data: zstd(z), mediaType: 'application/vnd.docker.image.rootfs.diff.tar.zstd' },
    ],
  });
  await pushMultiPlatform(plain, 'test/multi');
  const small = { config, layers: [{ data: gzipSync(g), mediaType: MEDIA.oci.layerGzip }] };
  await pushImage({ url: env.tls.url, caFile: env.tls.caFile }, 'test/tls', 'v1', small);
  await pushImage({ url: env.basic.url, caFile: env.basic.caFile, auth: USER }, 'test/private', 'v1', small);
  await pushImage({ url: env.token.url, auth: USER }, 'test/token', 'v1', {
    config,
    layers: [
      { data: gzipSync(g), mediaType: MEDIA.oci.layerGzip },
      { data: zstd(z), mediaType: MEDIA.oci.layerZstd },
    ],
  });
});

test.after(() => {
  for (const r of [env.plain, env.tls, env.basic, env.token]) r?.stop();
  env.tokenServer?.stop();
  env.blobProxy?.stop();
  env.manifestProxy?.stop();
});

test('OCI image by tag: manifest, config and gzip/zstd/uncompressed layers, all verified', async () => {
  const client = new RegistryClient({ registry: env.plain.host });
  const img = await resolveImage(client, 'test/oci', 'v1');
  assert.is(img.manifestDigest, env.oci.manifestDigest);
  assert.ok(img.manifestBytes.equals(env.oci.manifest));
  assert.is(img.manifestMediaType, MEDIA.oci.manifest);
  assert.is(img.indexDigest, undefined);
  assert.is(img.config.digest, env.oci.configDigest);
  assert.is(JSON.parse(img.configBytes.toString()).architecture, hostPlatform().architecture);
  assert.equal(img.layers.map((l) => layerCompression(l.mediaType)), ['gzip', 'zstd', 'none']);
  const blobs = await Promise.all(img.layers.map((l) => download(client, 'test/oci', l)));
  assert.ok(blobs[2]!.equals(env.tars[2]!));
  assert.ok(execFileSync('zstd', ['-d', '-q', '-c'], { input: blobs[1]! }).equals(env.tars[1]!));
  client.close();
});

test('OCI image by digest', async () => {
  const client = new RegistryClient({ registry: env.plain.host });
  const img = await resolveImage(client, 'test/oci', env.oci.manifestDigest);
  assert.is(img.manifestDigest, env.oci.manifestDigest);
  assert.is(img.layers.length, 3);
  const m = await client.getManifest('test/oci', env.oci.manifestDigest);
  assert.is(m.kind, 'manifest');
  assert.is(m.digest, env.oci.manifestDigest);
  client.close();
});

test('Docker schema 2 image with gzip, uncompressed and zstd layers', async () => {
  const client = new RegistryClient({ registry: env.plain.host });
  const img = await resolveImage(client, 'test/docker', 'v1');
  assert.is(img.manifestMediaType, MEDIA.docker.manifest);
  assert.is(img.manifestDigest, env.docker.manifestDigest);
  assert.is(img.config.mediaType, MEDIA.docker.config);
  assert.equal(img.layers.map((l) => layerCompression(l.mediaType)), ['gzip', 'none', 'zstd']);
  const blob = await download(client, 'test/docker', img.layers[1]!);
  assert.ok(blob.equals(env.tars[2]!));
  client.close();
});

test('index: the host platform by default, others on request, OCI index and Docker list', async () => {
  const client = new RegistryClient({ registry: env.plain.host });
  const host = formatPlatform(hostPlatform());
  const byDefault = await resolveImage(client, 'test/multi', 'latest');
  assert.is(byDefault.indexDigest, env.indexDigest);
  assert.is(byDefault.manifestDigest, env.perPlatform.get(host));
  assert.is(JSON.parse(byDefault.configBytes.toString()).architecture, hostPlatform().architecture);
  for (const [platform, digest] of env.perPlatform) {
    for (const tag of ['latest', 'docker']) {
      const img = await resolveImage(client, 'test/multi', tag, parsePlatform(platform));
      assert.is(img.manifestDigest, digest, `${platform} from ${tag}`);
    }
  }
  const arm64 = env.perPlatform.get('linux/arm64/v8');
  if (arm64) assert.is((await resolveImage(client, 'test/multi', 'latest', parsePlatform('linux/aarch64'))).manifestDigest, arm64);
  client.close();
});

test('index: an unavailable platform names the available ones', async () => {
  const client = new RegistryClient({ registry: env.plain.host });
  const listed = [...env.perPlatform.keys()].join(', ');
  await rejects(
    resolveImage(client, 'test/multi', 'latest', parsePlatform('linux/riscv64')),
    new RegExp(`^no image for platform linux/riscv64 in ${env.plain.host}/test/multi:latest: available platforms: ${listed}$`),
  );
  client.close();
});

test('TLS: trusted with the CA file, refused without it, accepted with tlsVerify false', async () => {
  const withCa = new RegistryClient({ registry: env.tls.host, caFiles: [env.tls.caFile!] });
  assert.is((await resolveImage(withCa, 'test/tls', 'v1')).layers.length, 1);
  const withoutCa = new RegistryClient({ registry: env.tls.host });
  await rejects(resolveImage(withoutCa, 'test/tls', 'v1'), /TLS certificate of registry 127\.0\.0\.1:\d+ is not trusted.*--tls-verify=false/);
  const insecure = new RegistryClient({ registry: env.tls.host, tlsVerify: false });
  assert.is((await resolveImage(insecure, 'test/tls', 'v1')).layers.length, 1);
  for (const c of [withCa, withoutCa, insecure]) c.close();
});

test('plain HTTP: fallback for a loopback endpoint and with tlsVerify false', async () => {
  const named = new RegistryClient({ registry: 'registry.example', endpoint: env.plain.host });
  assert.is((await named.getManifest('test/oci', 'v1')).digest, env.oci.manifestDigest);
  const insecure = new RegistryClient({ registry: env.plain.host, tlsVerify: false });
  assert.is((await insecure.getManifest('test/oci', 'v1')).digest, env.oci.manifestDigest);
  for (const c of [named, insecure]) c.close();
});

test('plain HTTP is remembered across clients, and a remembered endpoint that now speaks TLS is still reached', async () => {
  const remembered = new Set<string>();
  const schemes = { isPlainHttp: (e: string) => remembered.has(e), rememberPlainHttp: (e: string) => void remembered.add(e) };
  const first = new RegistryClient({ registry: env.plain.host, schemes });
  await first.getManifest('test/oci', 'v1');
  assert.equal([...remembered], [env.plain.host]);
  // A stale memory: the TLS registry is said to speak plain HTTP; its 400 answer sends the client to https.
  remembered.add(env.tls.host);
  const tlsClient = new RegistryClient({ registry: env.tls.host, caFiles: [env.tls.caFile!], schemes });
  assert.is((await resolveImage(tlsClient, 'test/tls', 'v1')).layers.length, 1);
  for (const c of [first, tlsClient]) c.close();
});

test('basic auth: good credentials pull, bad ones and none are refused', async () => {
  const caFiles = [env.basic.caFile!];
  const good = new RegistryClient({ registry: env.basic.host, caFiles, auth: USER });
  assert.is((await resolveImage(good, 'test/private', 'v1')).layers.length, 1);
  const bad = new RegistryClient({ registry: env.basic.host, caFiles, auth: { ...USER, password: 'wrong' } });
  await rejects(bad.getManifest('test/private', 'v1'), new RegExp(`^invalid username or password for ${env.basic.host}$`));
  const none = new RegistryClient({ registry: env.basic.host, caFiles });
  await rejects(none.getManifest('test/private', 'v1'), /^authentication required for 127\.0\.0\.1:\d+\/test\/private/);
  for (const c of [good, bad, none]) c.close();
});

test('token auth: one token serves a whole pull, also in parallel', async () => {
  const client = new RegistryClient({ registry: env.token.host, auth: USER });
  const before = env.tokenServer.requests;
  const img = await resolveImage(client, 'test/token', 'v1');
  const blobs = await Promise.all(img.layers.map((l) => download(client, 'test/token', l)));
  assert.ok(execFileSync('zstd', ['-d', '-q', '-c'], { input: blobs[1]! }).equals(env.tars[1]!));
  assert.is(env.tokenServer.requests - before, 1);
  client.close();
});

test('token auth: a token the registry refuses is replaced once; OAuth-style access_token', async () => {
  const client = new RegistryClient({ registry: env.token.host, auth: USER });
  const fresh = new RegistryClient({ registry: env.token.host, auth: USER });
  const before = env.tokenServer.requests;
  env.tokenServer.invalidTokens = 1;
  env.tokenServer.field = 'access_token';
  try {
    assert.is((await client.getManifest('test/token', 'v1')).kind, 'manifest');
    assert.is(env.tokenServer.requests - before, 2);
    env.tokenServer.invalidTokens = 2;
    await rejects(fresh.getManifest('test/token', 'v1'), /^access denied to 127\.0\.0\.1:\d+\/test\/token/);
  } finally {
    env.tokenServer.invalidTokens = 0;
    env.tokenServer.field = 'token';
    client.close();
    fresh.close();
  }
});

test('token auth: wrong password and anonymous are refused', async () => {
  const bad = new RegistryClient({ registry: env.token.host, auth: { ...USER, password: 'wrong' } });
  await rejects(bad.getManifest('test/token', 'v1'), new RegExp(`^invalid username or password for ${env.token.host}$`));
  const anonymous = new RegistryClient({ registry: env.token.host });
  await rejects(anonymous.getManifest('test/token', 'v1'), /^authentication required for 127\.0\.0\.1:\d+\/test\/token/);
  for (const c of [bad, anonymous]) c.close();
});

test('unknown repository and unknown tag: image not found', async () => {
  const client = new RegistryClient({ registry: env.plain.host });
  await rejects(client.getManifest('test/nothere', 'v1'), new RegExp(`^image not found: ${env.plain.host}/test/nothere:v1`));
  await rejects(resolveImage(client, 'test/oci', 'nope'), new RegExp(`^image not found: ${env.plain.host}/test/oci:nope`));
  const missing = sha256Digest(Buffer.from('missing'));
  await rejects(client.getBlob('test/oci', missing), new RegExp(`^blob ${missing} not found`));
  const mirror = new RegistryClient({ registry: 'docker.io', endpoint: env.plain.host });
  await rejects(mirror.getManifest('library/nothere', 'latest'), /^image not found: docker\.io\/library\/nothere:latest/);
  for (const c of [client, mirror]) c.close();
});

test('tampered blobs fail verification, naming the digest', async () => {
  const client = new RegistryClient({ registry: env.blobProxy.host });
  const before = env.blobProxy.tampered;
  await rejects(resolveImage(client, 'test/oci', 'v1'), new RegExp(`^digest mismatch for ${env.oci.configDigest}`));
  const manifest = await client.getManifest('test/oci', 'v1');
  assert.is(manifest.kind, 'manifest');
  const layer = manifest.kind === 'manifest' ? manifest.manifest.layers[0]! : undefined;
  await rejects(download(client, 'test/oci', layer!), new RegExp(`^digest mismatch for ${layer!.digest}`));
  assert.is(env.blobProxy.tampered - before, 2);
  client.close();
});

test('tampered manifests fail verification, by digest and by tag', async () => {
  const client = new RegistryClient({ registry: env.manifestProxy.host });
  const digest = env.oci.manifestDigest;
  await rejects(client.getManifest('test/oci', digest), new RegExp(`^digest mismatch for ${digest}`));
  await rejects(client.getManifest('test/oci', 'v1'), new RegExp(`^digest mismatch for ${digest}`));
  client.close();
});

test('a registry that is not running', async () => {
  const port = await freePort();
  const client = new RegistryClient({ registry: `127.0.0.1:${port}` });
  await rejects(client.getManifest('test/oci', 'v1'), new RegExp(`^cannot reach registry 127\\.0\\.0\\.1:${port}: connection refused$`));
  client.close();
});

test('malformed digests, tags and repositories are refused before any request', async () => {
  const client = new RegistryClient({ registry: '127.0.0.1:1' });
  await rejects(client.getManifest('test/oci', 'sha256:1234'), /^invalid digest "sha256:1234"/);
  await rejects(client.getBlob('test/oci', 'md5:d41d8cd98f00b204e9800998ecf8427e'), /^invalid digest "md5:/);
  await rejects(client.getBlobBytes('test/oci', `sha256:${'A'.repeat(64)}`, 100), /^invalid digest/);
  await rejects(client.getManifest('../etc', 'v1'), /^invalid repository name/);
  await rejects(client.getManifest('test/oci', 'v1/../x'), /^invalid tag/);
  assert.throws(() => verifyingStream('sha256:xyz'), /invalid digest/);
  client.close();
});

test('manifest parsing: schema 1, bad descriptors, unknown layer types', () => {
  const schema1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }));
  assert.throws(() => parseManifest(schema1, 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'r/x:y'), /schema 1/);
  const badDigest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.oci.manifest,
    config: { mediaType: MEDIA.oci.config, digest: 'sha256:../../etc/passwd', size: 2 },
    layers: [],
  }));
  throwsLine(() => parseManifest(badDigest, undefined, 'r/x:y'), /^invalid manifest for r\/x:y: config\.digest: invalid digest$/);
  const noType = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] }));
  assert.is(parseManifest(noType, 'application/json', 'r/x:y').kind, 'index');
  assert.throws(() => layerCompression('application/vnd.oci.image.layer.v1.tar+bzip2'), /unsupported layer media type/);
});

test('platforms: parsing, aliases, variants', () => {
  assert.equal(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.equal(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.throws(() => parsePlatform('amd64'), /invalid platform "amd64"/);
  assert.throws(() => parsePlatform('linux/arm/v7/x'), /invalid platform/);
  const entries = [
    { platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
    { platform: { os: 'linux', architecture: 'arm64' } },
  ];
  assert.is(selectPlatform(entries, parsePlatform('linux/arm/v7'), 'x'), entries[0]);
  assert.is(selectPlatform(entries, parsePlatform('linux/arm64/v8'), 'x'), entries[1]);
  throwsLine(() => selectPlatform(entries, parsePlatform('linux/arm/v5'), 'x'), /^no image for platform linux\/arm\/v5 in x: available platforms: linux\/arm\/v6, linux\/arm64$/);
});

test('verifyingStream catches a wrong size', async () => {
  const data = Buffer.from('hello');
  const digest = sha256Digest(data);
  const run = (size: number) =>
    pipeline([data], verifyingStream(digest, size), new Writable({ write(_c, _e, cb) { cb(); } }));
  await run(5);
  await rejects(run(4), new RegExp(`^size mismatch for ${digest}`));
  await rejects(run(6), new RegExp(`^size mismatch for ${digest}`));
});

test.run();
