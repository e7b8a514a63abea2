/**
 * tspod pull against real loopback registries, end to end through the CLI: plain HTTP, TLS with
 * and without the CA, basic auth (flags and auth files), manifest formats, multi-platform
 * indexes, layer compressions, tags and digests, tampered blobs, name resolution through
 * registries.json, progress output and bad input.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore, type RunResult, type TestStore } from './harness/cli.js';
import { freePort, startRegistry, type TestRegistry } from './harness/registry.js';
import { startRecordingProxy, type RecordingProxy } from './harness/recording-proxy.js';
import { startTamperProxy, type TamperProxy } from './harness/tamper-proxy.js';
import { progressFor } from '../src/core/progress.js';
import { SYSTEM_CONFIG_DIR } from '../src/store/paths.js';
import { assertOk, assertOneError, readState, snapshot } from './harness/store-checks.js';
import { BUSYBOX_BINARY, MEDIA, hostArch, multiarchIndex, tinyImage, tinyUncompressedImage, tinyZstdImage, type FixtureImage } from './fixtures/images.js';
import { seedRegistry, type FixtureName } from './fixtures/seed.js';

const test = suite('pull');

const USER = { username: 'alice', password: 'wonderland' };

const env = {} as {
  plain: TestRegistry;
  /** a second plain registry holding only test/busybox-zstd, for search order */
  other: TestRegistry;
  tls: TestRegistry;
  auth: TestRegistry;
  /** a recording proxy in front of `plain`, another registry name for the same content */
  proxy: RecordingProxy;
  tamperAll: TamperProxy;
  tamperLayer: TamperProxy;
  tiny: FixtureImage;
  /** the auth registry's CA alone in a directory, for --cert-dir */
  authCertDir: string;
  stores: TestStore[];
};

const hex = (digest: string) => digest.slice('sha256:'.length);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function newStore(): TestStore {
  const s = makeStore();
  env.stores.push(s);
  return s;
}

/** The id of the image a name points at, through `image inspect`. */
async function imageId(store: TestStore, name: string): Promise<string> {
  const r = await store.tspod(['image', 'inspect', '-f', '{{.Id}}', name]);
  assertOk(r, `inspect ${name}`);
  return r.stdout.trim();
}

/** A file of the image's top layer, read from the store's layer directory. */
function topLayerFile(store: TestStore, imageIdValue: string, file: string): Buffer {
  const image = readState(store).images.find((i) => i.id === imageIdValue);
  assert.ok(image, `image ${imageIdValue} is in the store`);
  return readFileSync(path.join(store.root, 'layers', hex(image.layers.at(-1)!), 'diff', file));
}

function assertQuietName(r: RunResult, name: string): void {
  assertOk(r, `pull ${name}`);
  assert.is(r.stdout, `${name}\n`);
  assert.is(r.stderr, '');
}

test.before(async () => {
  env.stores = [];
  [env.plain, env.other, env.tls, env.auth] = await Promise.all([startRegistry(), startRegistry(), startRegistry({ tls: true }), startRegistry({ auth: USER })]);
  const all: FixtureName[] = ['busybox', 'multilayer', 'multiarch', 'busybox-zstd', 'busybox-uncompressed'];
  await seedRegistry({ url: env.plain.url }, all);
  await seedRegistry({ url: env.other.url }, ['busybox-zstd']);
  await seedRegistry({ url: env.tls.url, caFile: env.tls.caFile }, ['busybox']);
  await seedRegistry({ url: env.auth.url, caFile: env.auth.caFile, auth: USER }, ['busybox']);
  env.proxy = await startRecordingProxy(env.plain.url);
  env.tiny = await tinyImage();
  env.tamperAll = await startTamperProxy(env.plain.url);
  const layerDigest = (await tinyUncompressedImage()).layers[0]!.digest;
  env.tamperLayer = await startTamperProxy(env.plain.url, { match: new RegExp(`/blobs/${layerDigest}$`) });
  env.authCertDir = mkdtempSync(path.join(os.tmpdir(), 'tspod-certs-'));
  copyFileSync(env.auth.caFile!, path.join(env.authCertDir, 'ca.crt'));
});

test.after(async () => {
  for (const s of env.stores ?? []) await s.cleanup();
  for (const r of [env.plain, env.other, env.tls, env.auth]) r?.stop();
  env.proxy?.stop();
  env.tamperAll?.stop();
  env.tamperLayer?.stop();
  if (env.authCertDir) rmSync(env.authCertDir, { recursive: true, force: true });
});

test('anonymous pull over plain HTTP from a loopback registry: Docker schema2, plain progress lines, the name last on stdout', async () => {
  const store = newStore();
  const name = `${env.plain.host}/library/busybox`;
  const r = await store.tspod(['pull', name]);
  assertOk(r, 'pull');
  assert.is(r.stdout, `${name}:latest\n`);
  const layer = hex(env.tiny.layers[0]!.digest).slice(0, 12);
  assert.not.match(r.stderr, /\x1b/, 'no terminal escapes when stderr is not a TTY');
  const lines = r.stderr.trimEnd().split('\n');
  assert.is(lines[0], `latest: Pulling from ${name}`);
  assert.ok(lines.includes(`${layer}: Pull complete`), r.stderr);
  assert.is(lines.at(-2), `Digest: ${env.tiny.manifestDigest}`);
  assert.is(lines.at(-1), `Status: Downloaded newer image for ${name}:latest`);

  const inspect = await store.tspod(['image', 'inspect', '-f', '{{.Id}} {{.ManifestType}} {{.Digest}}', name]);
  assert.is(inspect.stdout, `${env.tiny.configDigest} ${MEDIA.docker.manifest} ${env.tiny.manifestDigest}\n`);
  assert.ok(topLayerFile(store, env.tiny.configDigest, 'bin/busybox').equals(readFileSync(BUSYBOX_BINARY)));

  const again = await store.tspod(['pull', name]);
  assertOk(again, 'second pull');
  assert.match(again.stderr, new RegExp(`^${layer}: Already exists$`, 'm'));
  assert.match(again.stderr, new RegExp(`Status: Image is up to date for ${name}:latest\n$`));
  assertQuietName(await store.tspod(['pull', '-q', name]), `${name}:latest`);
  assert.is(readState(store).images.length, 1);
});

test('OCI manifests with zstd and uncompressed layers', async () => {
  const store = newStore();
  const busybox = readFileSync(BUSYBOX_BINARY);
  for (const [repo, image, mediaType] of [
    ['test/busybox-zstd', await tinyZstdImage(), MEDIA.oci.layerZstd],
    ['test/busybox-uncompressed', await tinyUncompressedImage(), MEDIA.oci.layerTar],
  ] as const) {
    const name = `${env.plain.host}/${repo}:latest`;
    const r = await store.tspod(['pull', name]);
    assertOk(r, `pull ${repo}`);
    // The content equals busybox's gzip layer, so each pull must start from a store without it.
    assert.match(r.stderr, /: Pull complete$/m);
    assert.is((await store.tspod(['image', 'inspect', '-f', '{{.ManifestType}}', name])).stdout, `${MEDIA.oci.manifest}\n`);
    assert.ok(topLayerFile(store, image.configDigest, 'bin/busybox').equals(busybox), `${repo}: /bin/busybox`);
    const state = readState(store);
    assert.equal(state.layers.map((l) => [l.diffID, l.digest, l.mediaType]), [[image.layers[0]!.diffId, image.layers[0]!.digest, mediaType]]);
    assert.is(sha256(readFileSync(path.join(store.root, 'blobs/sha256', hex(image.layers[0]!.digest)))), hex(image.layers[0]!.digest));
    assertOk(await store.tspod(['rmi', name]), `rmi ${repo}`);
    assert.equal(readState(store).layers, []);
  }
});

test('pull by digest, and by tag and digest together', async () => {
  const store = newStore();
  const repo = `${env.plain.host}/library/busybox`;
  const byDigest = `${repo}@${env.tiny.manifestDigest}`;
  assertQuietName(await store.tspod(['pull', '-q', byDigest]), byDigest);
  assert.is(await imageId(store, byDigest), env.tiny.configDigest);
  const [image] = readState(store).images;
  assert.equal(image!.digests, [byDigest]);
  assert.equal(image!.names, []);
  const listed = await store.tspod(['images', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}']);
  assert.is(listed.stdout, `${repo} <none> ${env.tiny.manifestDigest}\n`);

  // Docker and Podman ignore the tag when a digest is given; the image must not get a "tag@digest" name.
  const both = await store.tspod(['pull', '-q', `${repo}:latest@${env.tiny.manifestDigest}`]);
  assertOk(both, 'pull tag@digest');
  assert.equal(readState(store).images.map((i) => i.names), [[]]);

  const missing = `sha256:${'0'.repeat(64)}`;
  const before = snapshot(store);
  assertOneError(await store.tspod(['pull', `${repo}@${missing}`]), new RegExp(`image not found: ${repo}@${missing}`));
  assert.equal(snapshot(store), before);
});

test('a multi-platform index: the host platform by default, --platform linux/arm64, an unavailable platform', async () => {
  const store = newStore();
  const index = await multiarchIndex();
  const configOf = (arch: string) => index.images.find((i) => i.platform.architecture === arch)!.image.configDigest;
  const name = `${env.plain.host}/test/multiarch:latest`;
  const r = await store.tspod(['pull', name]);
  assertOk(r, 'pull multiarch');
  assert.match(r.stderr, new RegExp(`Digest: ${index.indexDigest}`));
  assert.is(await imageId(store, name), configOf(hostArch()));
  assert.is(topLayerFile(store, configOf(hostArch()), 'arch').toString(), `${hostArch()}\n`);

  assertQuietName(await store.tspod(['pull', '-q', '--platform', 'linux/arm64', name]), name);
  assert.is(await imageId(store, name), configOf('arm64'));
  assert.is(topLayerFile(store, configOf('arm64'), 'arch').toString(), 'arm64\n');
  assert.is((await store.tspod(['image', 'inspect', '-f', '{{.Architecture}}/{{.Variant}}', name])).stdout, 'arm64/v8\n');

  const before = snapshot(store);
  assertOneError(
    await store.tspod(['pull', '--platform', 'linux/s390x', name]),
    /no image for platform linux\/s390x in .*test\/multiarch.*: available platforms: linux\/amd64, linux\/arm64\/v8/,
  );
  assert.equal(snapshot(store), before);
});

test('TLS: untrusted without the CA (hint: --tls-verify=false), fine with --tls-verify=false, fine with the CA in certs.d', async () => {
  const store = newStore();
  const name = `${env.tls.host}/library/busybox:latest`;
  const r = await store.tspod(['pull', name]);
  assertOneError(r, new RegExp(`TLS certificate of registry ${env.tls.host} is not trusted .*--tls-verify=false`));
  assert.equal(snapshot(store).imagesJson, '');
  assertQuietName(await store.tspod(['pull', '-q', '--tls-verify=false', name]), name);
  assertOk(await store.tspod(['rmi', name]), 'rmi');

  // The config dir tspod reads: the user's, or as root the system's (this registry's port is ours alone).
  const configDir = process.geteuid!() === 0 ? SYSTEM_CONFIG_DIR : store.configDir;
  const certs = path.join(configDir, 'certs.d', env.tls.host);
  const created = mkdirSync(certs, { recursive: true });
  try {
    copyFileSync(env.tls.caFile!, path.join(certs, 'ca.crt'));
    assertQuietName(await store.tspod(['pull', '-q', name]), name);
    assert.is(await imageId(store, name), env.tiny.configDigest);
  } finally {
    rmSync(certs, { recursive: true, force: true });
    // Parents this test created go too, unless something else was put there meanwhile.
    for (let dir = path.dirname(certs); created && dir.startsWith(created); dir = path.dirname(dir)) {
      try {
        rmdirSync(dir);
      } catch {
        break;
      }
    }
  }
});

test('basic auth: none, bad and good --creds, REGISTRY_AUTH_FILE and --authfile', async () => {
  const store = newStore();
  const name = `${env.auth.host}/library/busybox:latest`;
  const certs = ['--cert-dir', env.authCertDir];
  assertOneError(await store.tspod(['pull', ...certs, name]), new RegExp(`authentication required for ${env.auth.host}/library/busybox`));
  assertOneError(await store.tspod(['pull', ...certs, '--creds', `${USER.username}:nope`, name]), new RegExp(`invalid username or password for ${env.auth.host}`));
  assert.equal(snapshot(store).imagesJson, '');
  assertQuietName(await store.tspod(['pull', '-q', ...certs, '--creds', `${USER.username}:${USER.password}`, name]), name);
  assertOk(await store.tspod(['rmi', name]), 'rmi');

  const auth = (password: string) => JSON.stringify({ auths: { [env.auth.host]: { auth: Buffer.from(`${USER.username}:${password}`).toString('base64') } } });
  // makeStore points REGISTRY_AUTH_FILE at auth.json beside the store.
  writeFileSync(path.join(path.dirname(store.root), 'auth.json'), auth(USER.password));
  assertQuietName(await store.tspod(['pull', '-q', ...certs, name]), name);
  assertOk(await store.tspod(['rmi', name]), 'rmi');

  const other = path.join(path.dirname(store.root), 'other-auth.json');
  writeFileSync(other, auth(USER.password));
  writeFileSync(path.join(path.dirname(store.root), 'auth.json'), auth('wrong'));
  assertQuietName(await store.tspod(['pull', '-q', ...certs, '--authfile', other, name]), name);
  assertOneError(await store.tspod(['pull', ...certs, name]), /invalid username or password/);
  assertOneError(await store.tspod(['pull', ...certs, '--authfile', `${other}.missing`, name]), new RegExp(`cannot read auth file ${other}\\.missing`));
});

test('a mirror gets its own stored credentials, never those of the registry it stands in for', async () => {
  const store = newStore();
  const registry = `127.0.0.1:${await freePort()}`;
  const name = `${registry}/library/busybox:latest`;
  const certs = ['--cert-dir', env.authCertDir];
  store.registries({ registries: { [registry]: { mirrors: [env.auth.host] } } });
  const authFile = path.join(path.dirname(store.root), 'auth.json');
  const credentials = Buffer.from(`${USER.username}:${USER.password}`).toString('base64');
  writeFileSync(authFile, JSON.stringify({ auths: { [registry]: { auth: credentials } } }));
  assertOneError(await store.tspod(['pull', ...certs, name]), new RegExp(`authentication required for ${registry}/library/busybox`));
  writeFileSync(authFile, JSON.stringify({ auths: { [env.auth.host]: { auth: credentials } } }));
  assertQuietName(await store.tspod(['pull', '-q', ...certs, name]), name);
});

test('every blob is verified: a tampered config or layer fails the pull and nothing is committed', async () => {
  const store = newStore();
  const before = snapshot(store);
  assertOneError(await store.tspod(['pull', `${env.tamperAll.host}/library/busybox`]), /digest mismatch for sha256:/);
  assert.equal(snapshot(store), before);
  const layerDigest = (await tinyUncompressedImage()).layers[0]!.digest;
  assertOneError(await store.tspod(['pull', `${env.tamperLayer.host}/test/busybox-uncompressed`]), new RegExp(`digest mismatch for ${layerDigest}`));
  assert.ok(env.tamperLayer.tampered > 0, 'the proxy did corrupt the layer');
  assert.equal(snapshot(store), before);
  // A gzip layer corrupted in transit is reported as what it is too, not as a decompression failure.
  const gzipProxy = await startTamperProxy(env.plain.url, { match: new RegExp(`/blobs/${env.tiny.layers[0]!.digest}$`) });
  try {
    assertOneError(await store.tspod(['pull', `${gzipProxy.host}/library/busybox`]), new RegExp(`digest mismatch for ${env.tiny.layers[0]!.digest}`));
  } finally {
    gzipProxy.stop();
  }
  assert.equal(snapshot(store), before);
});

test('name resolution: a docker.io mirror, aliases, search order, blocked registries', async () => {
  const store = newStore();
  store.registries({ registries: { 'docker.io': { mirrors: [env.plain.host] } } });
  assertQuietName(await store.tspod(['pull', '-q', 'busybox']), 'docker.io/library/busybox:latest');
  assert.is((await store.tspod(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, 'busybox:latest\n');
  assert.is(await imageId(store, 'docker.io/library/busybox'), env.tiny.configDigest);

  store.registries({ aliases: { bb: `${env.plain.host}/library/busybox` } });
  assertQuietName(await store.tspod(['pull', '-q', 'bb']), `${env.plain.host}/library/busybox:latest`);
  assertQuietName(await store.tspod(['pull', '-q', 'bb:latest']), `${env.plain.host}/library/busybox:latest`);

  // `other` has only test/busybox-zstd: the first registry that has a name wins.
  store.registries({ unqualifiedSearchRegistries: [env.other.host, env.plain.host] });
  assertQuietName(await store.tspod(['pull', '-q', 'test/multilayer']), `${env.plain.host}/test/multilayer:latest`);
  assertQuietName(await store.tspod(['pull', '-q', 'test/busybox-zstd']), `${env.other.host}/test/busybox-zstd:latest`);
  store.registries({ unqualifiedSearchRegistries: [env.proxy.host, env.plain.host] });
  assertQuietName(await store.tspod(['pull', '-q', 'test/busybox-zstd']), `${env.proxy.host}/test/busybox-zstd:latest`);
  store.registries({ unqualifiedSearchRegistries: [env.other.host] });
  const before = snapshot(store);
  assertOneError(await store.tspod(['pull', 'test/multilayer']), new RegExp(`image not found: ${env.other.host}/test/multilayer:latest`));

  store.registries({ registries: { [env.plain.host]: { blocked: true } } });
  assertOneError(await store.tspod(['pull', `${env.plain.host}/test/multilayer`]), new RegExp(`registry ${env.plain.host} is blocked`));
  assert.equal(snapshot(store), before);
});

test('progress on a terminal: one line per layer redrawn in place, bars while downloading; -q: nothing', async () => {
  let written = '';
  const stderr = Object.assign(new Writable({ write: (chunk, _e, cb) => ((written += chunk), cb()) }), { isTTY: true });
  const out = { stdout: new Writable({ write: (_c, _e, cb) => cb() }), stderr };
  const progress = progressFor(out, false);
  progress.message('latest: Pulling from x');
  progress.layer('aaaaaaaaaaaa', 'Waiting');
  progress.layer('bbbbbbbbbbbb', 'Already exists');
  progress.layer('aaaaaaaaaaaa', 'Downloading', 1_500_000, 3_000_000);
  progress.done();
  assert.match(written, /\x1b\[2Kaaaaaaaaaaaa: Downloading \[={25}>\s{24}\] 1\.5MB\/3MB\n\x1b\[2Kbbbbbbbbbbbb: Already exists\n$/);
  progress.layer('aaaaaaaaaaaa', 'Pull complete');
  assert.match(written, /\x1b\[2A\x1b\[2Kaaaaaaaaaaaa: Pull complete\n\x1b\[2Kbbbbbbbbbbbb: Already exists\n$/, 'redrawn over the previous two lines');
  const quiet = progressFor(out, true);
  const length = written.length;
  quiet.message('x');
  quiet.layer('aaaaaaaaaaaa', 'Downloading', 1, 2);
  assert.is(written.length, length);
});

test('bad input: one line, exit 125, nothing changed', async () => {
  const store = newStore();
  assertOk(await store.tspod(['pull', '-q', `${env.plain.host}/library/busybox`]), 'pull');
  const before = snapshot(store);
  const down = `127.0.0.1:${await freePort()}`;
  const cases: [string[], RegExp][] = [
    [['pull', `${env.plain.host}/no/such-image`], new RegExp(`image not found: ${env.plain.host}/no/such-image:latest`)],
    [['pull', `${env.plain.host}/library/busybox:nosuchtag`], new RegExp(`image not found: ${env.plain.host}/library/busybox:nosuchtag`)],
    [['pull', 'UPPER'], /invalid reference format "UPPER": repository name must be lowercase/],
    [['pull', `${down}/library/busybox`], new RegExp(`cannot reach registry ${down}: connection refused`)],
    [['pull', '--bogus', `${env.plain.host}/library/busybox`], /Nonexistent flag: --bogus/],
    [['pull', '--platform', 'linux', `${env.plain.host}/library/busybox`], /invalid platform "linux"/],
    [['pull', '--creds', 'nopassword', `${env.plain.host}/library/busybox`], /--creds must be USERNAME:PASSWORD/],
    [['pull'], /Missing 1 required arg/],
  ];
  for (const [args, re] of cases) {
    assertOneError(await store.tspod(args), re);
    assert.equal(snapshot(store), before, args.join(' '));
  }
});

test.run();
