/**
 * tspod push against real loopback registries, end to end through the CLI (and through the core
 * for chunk sizes): round trips that keep ID and digest, blob reuse across repositories counted
 * at a recording proxy, chunked uploads, manifest and compression conversions pulled back and
 * run, --all-tags, --digestfile, htpasswd and token authentication, and bad input.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore, type RunResult, type TestStore } from './harness/cli.js';
import { freePort, startRegistry, type TestRegistry } from './harness/registry.js';
import { startRecordingProxy, type RecordingProxy } from './harness/recording-proxy.js';
import { startTokenServer, type TokenServer } from './harness/token-server.js';
import { assertOk, assertOneError, snapshot } from './harness/store-checks.js';
import { MEDIA, multilayerImage, tinyImage, tinyZstdImage } from './fixtures/images.js';
import { seedRegistry } from './fixtures/seed.js';
import { openEngine } from '../src/core/engine.js';
import { quietProgress } from '../src/core/progress.js';
import { pushImages } from '../src/core/push.js';
import { resolvePaths } from '../src/store/paths.js';

const test = suite('push');

const USER = { username: 'alice', password: 'S3cret-wonderland' };

const env = {} as {
  /** where the images come from */
  source: TestRegistry;
  /** a plain registry to push to, behind a recording proxy */
  target: TestRegistry;
  proxy: RecordingProxy;
  auth: TestRegistry;
  authCertDir: string;
  tokenServer: TokenServer;
  token: TestRegistry;
  /** a store holding busybox, multilayer and busybox-zstd from `source` */
  store: TestStore;
  stores: TestStore[];
};

const names = () => ({
  busybox: `${env.source.host}/library/busybox:latest`,
  multilayer: `${env.source.host}/test/multilayer:latest`,
  zstd: `${env.source.host}/test/busybox-zstd:latest`,
});

function newStore(): TestStore {
  const s = makeStore();
  env.stores.push(s);
  return s;
}

/** The digest the push reported ("TAG: digest: DIGEST size: N"). */
function pushedDigest(r: RunResult, tag: string): string {
  assertOk(r, 'push');
  const m = new RegExp(`^${tag}: digest: (sha256:[a-f0-9]{64}) size: \\d+$`, 'm').exec(r.stderr);
  assert.ok(m, `digest line in:\n${r.stderr}`);
  return m[1]!;
}

async function inspect(store: TestStore, name: string, format: string): Promise<string> {
  const r = await store.tspod(['image', 'inspect', '-f', format, name]);
  assertOk(r, `inspect ${name}`);
  return r.stdout.trim();
}

/** GET of a manifest straight from a plain-HTTP registry. */
function fetchManifest(registry: TestRegistry, repo: string, ref: string): Promise<{ status: number; type?: string; body: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const accept = [MEDIA.oci.manifest, MEDIA.docker.manifest].join(', ');
    http.get(`${registry.url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: accept } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body: res.statusCode === 200 ? JSON.parse(text) : {} }));
    }).on('error', reject);
  });
}

/** Blob uploads the proxy saw since `from`: PATCH and PUT of blobs (manifests apart). */
function blobUploads(from: number): string[] {
  return env.proxy.requests.slice(from).filter((r) => (r.method === 'PATCH' || r.method === 'PUT') && r.path.includes('/blobs/uploads/')).map((r) => `${r.method} ${r.path}`);
}

test.before(async () => {
  env.stores = [];
  env.tokenServer = await startTokenServer({ users: { [USER.username]: USER.password }, anonymous: ['pull'] });
  [env.source, env.target, env.auth, env.token] = await Promise.all([startRegistry(), startRegistry(), startRegistry({ auth: USER }), startRegistry({ token: env.tokenServer.auth })]);
  await seedRegistry({ url: env.source.url }, ['busybox', 'multilayer', 'busybox-zstd']);
  env.proxy = await startRecordingProxy(env.target.url);
  env.authCertDir = mkdtempSync(path.join(os.tmpdir(), 'tspod-certs-'));
  copyFileSync(env.auth.caFile!, path.join(env.authCertDir, 'ca.crt'));
  env.store = newStore();
  for (const name of Object.values(names())) assertOk(await env.store.tspod(['pull', '-q', name]), `pull ${name}`);
});

test.after(async () => {
  for (const s of env.stores ?? []) await s.cleanup();
  for (const r of [env.source, env.target, env.auth, env.token]) r?.stop();
  env.proxy?.stop();
  env.tokenServer?.stop();
  if (env.authCertDir) rmSync(env.authCertDir, { recursive: true, force: true });
});

test('round trip: push to a fresh registry, rmi, pull back: same ID and digest; Docker-style progress; an event', async () => {
  const store = newStore();
  const tiny = await tinyImage();
  const registry = await startRegistry();
  try {
    assertOk(await store.tspod(['pull', '-q', names().busybox]), 'pull');
    const dest = `${registry.host}/round/trip:v1`;
    const r = await store.tspod(['push', names().busybox, dest]);
    assert.is(pushedDigest(r, 'v1'), tiny.manifestDigest);
    assert.is(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.is(lines[0], `The push refers to repository [${registry.host}/round/trip]`);
    const layer = tiny.layers[0]!.digest.slice(7, 19);
    assert.ok(lines.includes(`${layer}: Preparing`) && lines.includes(`${layer}: Pushed`), r.stderr);
    const events = readFileSync(path.join(store.runroot, 'events', 'events.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(events.some((e) => e.type === 'image' && e.action === 'push' && e.id === tiny.configDigest && e.name === dest), 'push event');

    assertOk(await store.tspod(['rmi', '-f', tiny.configDigest]), 'rmi');
    assertOk(await store.tspod(['pull', '-q', dest]), 'pull back');
    assert.is(await inspect(store, dest, '{{.Id}} {{.Digest}}'), `${tiny.configDigest} ${tiny.manifestDigest}`);
    // A second push finds everything there: only the manifest is sent again.
    const again = await store.tspod(['push', dest]);
    assert.is(pushedDigest(again, 'v1'), tiny.manifestDigest);
    assert.match(again.stderr, new RegExp(`^${layer}: Layer already exists$`, 'm'));
  } finally {
    registry.stop();
  }
});

test('blob reuse across repositories: mounted or found, never uploaded twice (counted at the proxy)', async () => {
  const target = env.proxy.host;
  const multilayer = await multilayerImage();
  const first = env.proxy.requests.length;
  const d1 = pushedDigest(await env.store.tspod(['push', names().multilayer, `${target}/reuse/one:1`]), '1');
  assert.is(d1, multilayer.manifestDigest);
  const uploaded = blobUploads(first);
  assert.ok(uploaded.length >= multilayer.layers.length + 1, `the first push uploads every blob: ${uploaded.join(', ')}`);

  const second = env.proxy.requests.length;
  const r = await env.store.tspod(['push', names().multilayer, `${target}/reuse/two:1`]);
  assert.is(pushedDigest(r, '1'), multilayer.manifestDigest);
  assert.equal(blobUploads(second), [], 'no blob is uploaded again');
  const mounts = env.proxy.requests.slice(second).filter((q) => q.method === 'POST' && q.status === 201);
  assert.is(mounts.length, multilayer.layers.length + 1, 'every blob (layers and config) is mounted');
  assert.match(r.stderr, /: Mounted from reuse\/one$/m);

  // busybox's layer is multilayer's base layer: found by HEAD or mounted, not uploaded.
  const third = env.proxy.requests.length;
  pushedDigest(await env.store.tspod(['push', names().busybox, `${target}/reuse/one:busybox`]), 'busybox');
  assert.equal(blobUploads(third).length, 1, `only the config is new: ${blobUploads(third).join(', ')}`);
});

test('chunked upload: PATCH chunks of the chunk size, then a pull back with the same digest', async () => {
  const engine = openEngine(resolvePaths({ root: env.store.root, runroot: env.store.runroot }));
  const multilayer = await multilayerImage();
  const biggest = Math.max(...multilayer.layers.map((l) => l.size));
  const chunkSize = 16 * 1024;
  assert.ok(biggest > 3 * chunkSize, `a layer spans several chunks (${biggest} bytes)`);
  // A registry of its own: nothing to find or mount there.
  const registry = await startRegistry();
  const proxy = await startRecordingProxy(registry.url);
  try {
    const [result] = await pushImages(engine, names().multilayer, `${proxy.host}/chunked/multilayer:1`, { chunkSize, progress: quietProgress() });
    assert.is(result!.digest, multilayer.manifestDigest);
    const patches = proxy.requests.filter((r) => r.method === 'PATCH');
    const expected = multilayer.layers.reduce((n, l) => n + (l.size > chunkSize ? Math.ceil(l.size / chunkSize) : 0), 0);
    assert.is(patches.length, expected, 'one PATCH per chunk of each large layer');
    assert.ok(patches.every((p) => p.status === 202));

    const store = newStore();
    const name = `${registry.host}/chunked/multilayer:1`;
    assertOk(await store.tspod(['pull', '-q', name]), 'pull back');
    assert.is(await inspect(store, name, '{{.Id}} {{.Digest}}'), `${multilayer.configDigest} ${multilayer.manifestDigest}`);
  } finally {
    proxy.stop();
    registry.stop();
  }
});

test('--format and --compression-format convert; the converted images pull back with the same ID and run', async () => {
  const tiny = await tinyImage();
  const zstd = await tinyZstdImage();
  const cases = [
    { source: names().busybox, repo: 'conv/oci-zstd', args: ['--format', 'oci', '--compression-format', 'zstd'], manifest: MEDIA.oci.manifest, config: MEDIA.oci.config, layer: MEDIA.oci.layerZstd, id: tiny.configDigest },
    { source: names().zstd, repo: 'conv/v2s2-gzip', args: ['--format', 'v2s2', '--compression-format', 'gzip'], manifest: MEDIA.docker.manifest, config: MEDIA.docker.config, layer: MEDIA.docker.layerGzip, id: zstd.configDigest },
    { source: names().busybox, repo: 'conv/oci', args: ['--format=oci'], manifest: MEDIA.oci.manifest, config: MEDIA.oci.config, layer: MEDIA.oci.layerGzip, id: tiny.configDigest },
  ];
  for (const c of cases) {
    const digest = pushedDigest(await env.store.tspod(['push', ...c.args, c.source, `${env.target.host}/${c.repo}:1`]), '1');
    const m = await fetchManifest(env.target, c.repo, '1');
    assert.is(m.status, 200);
    assert.is(m.body.mediaType, c.manifest, `${c.repo} manifest type`);
    assert.is(m.body.config.mediaType, c.config);
    assert.is(m.body.config.digest, c.id, 'the config (and so the image ID) is unchanged');
    assert.equal(m.body.layers.map((l: { mediaType: string }) => l.mediaType), [c.layer]);
    const store = newStore();
    const name = `${env.target.host}/${c.repo}:1`;
    assertOk(await store.tspod(['pull', '-q', name]), `pull ${name}`);
    assert.is(await inspect(store, name, '{{.Id}} {{.Digest}}'), `${c.id} ${digest}`);
    const run = await store.tspod(['run', '--rm', '--network', 'none', name, '/bin/busybox', 'echo', 'converted']);
    assertOk(run, `run ${name}`);
    assert.is(run.stdout, 'converted\n');
  }
  assertOneError(await env.store.tspod(['push', '--format', 'v2s2', names().zstd, `${env.target.host}/conv/bad:1`]), /zstd layers cannot be pushed in the v2s2 format/);
  assert.is((await fetchManifest(env.target, 'conv/bad', '1')).status, 404);
});

test('--all-tags pushes every tag of the repository; a tag with -a is refused; --digestfile', async () => {
  const repo = `${env.target.host}/alltags/box`;
  for (const tag of ['a', 'b']) assertOk(await env.store.tspod(['tag', names().busybox, `${repo}:${tag}`]), 'tag');
  assertOk(await env.store.tspod(['tag', names().multilayer, `${repo}:c`]), 'tag');
  const digestfile = path.join(path.dirname(env.store.root), 'digest');
  const r = await env.store.tspod(['push', '-a', '--digestfile', digestfile, repo]);
  assertOk(r, 'push -a');
  for (const [tag, image] of [['a', await tinyImage()], ['b', await tinyImage()], ['c', await multilayerImage()]] as const) {
    assert.is(pushedDigest(r, tag), image.manifestDigest);
    assert.is((await fetchManifest(env.target, 'alltags/box', tag)).body.config.digest, image.configDigest);
  }
  assert.is(readFileSync(digestfile, 'utf8'), (await multilayerImage()).manifestDigest);
  assertOneError(await env.store.tspod(['push', '--all-tags', `${repo}:a`]), /tag can't be used with --all-tags/);
  // Without -a a name without tag means :latest, which the store does not have.
  assertOneError(await env.store.tspod(['push', repo]), new RegExp(`no such image: ${repo}`));
});

test('bad input: unknown image, unreachable registry, registry refusing; nothing changes in the store', async () => {
  const before = snapshot(env.store);
  assertOneError(await env.store.tspod(['push', 'no-such-image:1', `${env.target.host}/x/y:1`]), /no such image: no-such-image:1/);
  const closed = `127.0.0.1:${await freePort()}`;
  assertOneError(await env.store.tspod(['push', names().busybox, `${closed}/x/y:1`]), new RegExp(`cannot reach registry ${closed}: connection refused`));
  assertOneError(await env.store.tspod(['push', names().busybox, `${env.target.host}/x/y@sha256:${'0'.repeat(64)}`]), /cannot push to a digest/);
  assertOneError(await env.store.tspod(['push', '--format', 'v2s1', names().busybox, `${env.target.host}/x/y:1`]), /v2s1/);
  assert.equal(snapshot(env.store), before);
});

test('htpasswd over TLS: no credentials, wrong ones (never shown), --creds, and the auth file', async () => {
  const dest = `${env.auth.host}/secure/busybox:1`;
  const certs = ['--cert-dir', env.authCertDir];
  assertOneError(await env.store.tspod(['push', ...certs, names().busybox, dest]), new RegExp(`authentication required for ${env.auth.host}/secure/busybox`));
  const wrong = 'not-the-Password-42';
  const bad = await env.store.tspod(['push', ...certs, '--creds', `${USER.username}:${wrong}`, names().busybox, dest]);
  assertOneError(bad, new RegExp(`invalid username or password for ${env.auth.host}`));
  assert.not.ok(bad.stderr.includes(wrong), 'the password is not in the error');
  assertOneError(await env.store.tspod(['push', names().busybox, dest]), /TLS certificate of registry .* is not trusted/);
  assert.is(pushedDigest(await env.store.tspod(['push', ...certs, '--creds', `${USER.username}:${USER.password}`, names().busybox, dest]), '1'), (await tinyImage()).manifestDigest);
  assertOk(await env.store.tspod(['login', ...certs, '-u', USER.username, '--password-stdin', env.auth.host], { input: `${USER.password}\n` }), 'login');
  pushedDigest(await env.store.tspod(['push', ...certs, names().multilayer, `${env.auth.host}/secure/multilayer:1`]), '1');
});

test('token auth: anonymous push refused, pushes and mounts with a login', async () => {
  const dest = `${env.token.host}/tok/busybox:1`;
  assertOneError(await env.store.tspod(['push', names().busybox, dest]), new RegExp(`authentication required for ${env.token.host}/tok/busybox`));
  const authfile = path.join(path.dirname(env.store.root), 'token-auth.json');
  assertOk(await env.store.tspod(['login', '--authfile', authfile, '-u', USER.username, '--password-stdin', env.token.host], { input: USER.password }), 'login');
  pushedDigest(await env.store.tspod(['push', '--authfile', authfile, names().busybox, dest]), '1');
  const r = await env.store.tspod(['push', '--authfile', authfile, names().busybox, `${env.token.host}/tok/other:1`]);
  pushedDigest(r, '1');
  assert.match(r.stderr, /: Mounted from tok\/busybox$/m);
});

test.run();
