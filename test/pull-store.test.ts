/**
 * tspod pull and the image store, end to end through the CLI against a loopback registry:
 * layers shared between images, concurrent pulls, extraction (owners, modes, xattrs, whiteouts,
 * the merged overlay view), hostile layers, and a user without subordinate ids.
 */
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore, type TestStore } from './harness/cli.js';
import { pushImage } from './harness/push.js';
import { startRecordingProxy, type RecordingProxy } from './harness/recording-proxy.js';
import { startRegistry, type TestRegistry } from './harness/registry.js';
import { assertOk, assertOneError, hostId, mergedViewProblems, namespaceOf, readState, snapshot } from './harness/store-checks.js';
import { buildImage, layerFromTar, multilayerImage, tarball, tinyImage, type FixtureImage, type TarEntry } from './fixtures/images.js';
import { seedRegistry } from './fixtures/seed.js';
import { readUserXattrs } from './fixtures/view.js';

const test = suite('pull: store');

const env = {} as {
  registry: TestRegistry;
  proxy: RecordingProxy;
  store: TestStore;
  tiny: FixtureImage;
  multilayer: FixtureImage;
  /** a directory outside every store that hostile layers aim at */
  outside: string;
  stores: TestStore[];
};

const hex = (digest: string) => digest.slice('sha256:'.length);

function newStore(): TestStore {
  const s = makeStore();
  env.stores.push(s);
  return s;
}

async function pushHostile(repo: string, entries: TarEntry[]): Promise<void> {
  // A harmless layer first, so that a pull has staged something by the time the hostile one fails.
  const good = layerFromTar(await tarball([{ name: 'good/', type: 'directory' }, { name: `good/${repo.replace('/', '-')}`, content: 'fine\n' }]));
  const image = buildImage({
    config: { Cmd: ['sh'] },
    layers: [
      { layer: good, createdBy: 'COPY good /good' },
      { layer: layerFromTar(await tarball(entries)), createdBy: 'hostile' },
    ],
  });
  await pushImage({ url: env.registry.url }, repo, 'latest', image);
}

test.before(async () => {
  env.stores = [];
  env.registry = await startRegistry();
  await seedRegistry({ url: env.registry.url }, ['busybox', 'multilayer']);
  env.proxy = await startRecordingProxy(env.registry.url);
  env.tiny = await tinyImage();
  env.multilayer = await multilayerImage();
  env.outside = mkdtempSync(path.join(os.tmpdir(), 'tspod-outside-'));
  writeFileSync(path.join(env.outside, 'target'), 'outside\n');
  const climb = '../../../../outside-of-root';
  await pushHostile('evil/dotdot', [{ name: '../evil', content: 'evil\n' }]);
  await pushHostile('evil/dotdot-deep', [{ name: `${climb}/evil`, content: 'evil\n' }]);
  await pushHostile('evil/symlink', [
    { name: 'a', type: 'symlink', linkname: '/' },
    { name: `a${env.outside}/x`, content: 'escaped\n' },
  ]);
  await pushHostile('evil/hardlink', [{ name: 'h', type: 'link', linkname: `../../../..${env.outside}/target` }]);
  await pushHostile('evil/absolute', [{ name: `${env.outside}/abs`, content: 'escaped\n' }]);
  env.store = newStore();
});

test.after(async () => {
  for (const s of env.stores ?? []) await s.cleanup();
  env.proxy?.stop();
  env.registry?.stop();
  if (env.outside) rmSync(env.outside, { recursive: true, force: true });
});

test('a layer two images share is downloaded and extracted once', async () => {
  const { store, proxy, tiny, multilayer } = env;
  const tinyLayer = tiny.layers[0]!;
  assertOk(await store.tspod(['pull', `${proxy.host}/library/busybox`]), 'pull busybox');
  const second = await store.tspod(['pull', `${proxy.host}/test/multilayer`]);
  assertOk(second, 'pull multilayer');
  assert.match(second.stderr, new RegExp(`^${hex(tinyLayer.digest).slice(0, 12)}: Already exists$`, 'm'));
  assert.is(proxy.blobGets(tinyLayer.digest), 1, 'the shared layer blob is fetched by the first pull only');
  for (const layer of multilayer.layers.slice(1)) assert.is(proxy.blobGets(layer.digest), 1, `blob ${layer.digest}`);

  const state = readState(store);
  assert.is(state.images.length, 2);
  for (const image of state.images) assert.is(image.layers[0], tinyLayer.diffId);
  assert.equal(state.layers.map((l) => l.diffID).sort(), multilayer.layers.map((l) => l.diffId).sort());
  assert.equal(readdirSync(path.join(store.root, 'layers')).sort(), multilayer.layers.map((l) => hex(l.diffId)).sort());
  assert.equal(readdirSync(path.join(store.root, 'tmp')), []);
});

test('layer directories keep owners, modes, links and xattrs, and hold overlay whiteouts', async () => {
  const { store, multilayer } = env;
  const ns = await namespaceOf(store);
  const uid = (id: number) => hostId(ns.uidMappings, id);
  const gid = (id: number) => hostId(ns.gidMappings, id);
  const dir = (i: number) => path.join(store.root, 'layers', hex(multilayer.layers[i]!.diffId), 'diff');
  const base = dir(1);
  const changes = dir(2);

  const owned = lstatSync(path.join(base, 'data/owned-1000'));
  assert.is(owned.mode & 0o7777, 0o640);
  assert.is(owned.uid, uid(1000));
  assert.is(owned.gid, gid(1000));
  const nobody = lstatSync(path.join(base, 'data/owned-nobody'));
  assert.is([nobody.uid, nobody.gid].join(':'), `${uid(65534)}:${gid(65534)}`);
  const suid = lstatSync(path.join(base, 'data/suid'));
  assert.is(suid.mode & 0o7777, 0o4755);
  assert.is(suid.uid, uid(0));
  assert.is(lstatSync(path.join(base, 'data/sgid-dir')).mode & 0o7777, 0o2775);
  const priv = lstatSync(path.join(base, 'data/private'));
  assert.is(priv.mode & 0o7777, 0o700);
  assert.is(priv.uid, uid(1000));
  assert.is(lstatSync(path.join(base, 'data/hard')).ino, lstatSync(path.join(base, 'data/keep.txt')).ino);
  assert.ok(lstatSync(path.join(base, 'data/abs-link')).isSymbolicLink());
  assert.equal(await readUserXattrs(path.join(base, 'data/xattr.txt')), { 'user.foo': 'bar' });

  for (const gone of ['data/gone.txt', 'data/gonedir']) {
    const st = lstatSync(path.join(changes, gone));
    assert.ok(st.isCharacterDevice() && st.rdev === 0, `${gone} is an overlay whiteout (char 0/0)`);
  }
  assert.is((await readUserXattrs(path.join(changes, 'data/opaque')))['user.overlay.opaque'], 'y');
  assert.equal(readdirSync(path.join(changes, 'data')).sort(), ['added.txt', 'gone.txt', 'gonedir', 'opaque']);
  assert.equal(readdirSync(path.join(changes, 'data/opaque')), ['new.txt']);
});

test('the overlay of the pulled layers shows the expected merged view', async () => {
  const { store, multilayer } = env;
  const image = readState(store).images.find((i) => i.id === multilayer.configDigest);
  assert.ok(image, 'multilayer is in the store');
  const problems = await mergedViewProblems(store, image.layers.map((d) => path.join(store.root, 'layers', hex(d), 'diff')));
  assert.equal(problems, []);
});

for (const [repo, re] of [
  ['evil/dotdot', /layer sha256:[a-f0-9]{64}: entry "\.\.\/evil" escapes the layer root/],
  ['evil/dotdot-deep', /entry "\.\.\/\.\.\/\.\.\/\.\.\/outside-of-root\/evil" escapes the layer root/],
  ['evil/symlink', /escapes the layer root through symlink "a"/],
  ['evil/hardlink', /entry "h" links to .* which escapes the layer root/],
  ['evil/absolute', /escapes the layer root/],
] as const) {
  test(`a hostile layer (${repo}) fails the pull with one line and changes nothing`, async () => {
    const { store, registry, outside } = env;
    const before = snapshot(store);
    const r = await store.tspod(['pull', `${registry.host}/${repo}`]);
    assertOneError(r, re);
    assert.equal(snapshot(store), before);
    assert.equal(readdirSync(outside), ['target']);
    assert.is(statSync(path.join(outside, 'target')).nlink, 1);
    const base = path.dirname(store.root);
    assert.not.ok(existsSync(path.join(base, 'outside-of-root')), 'nothing next to the store');
  });
}

test('three concurrent pulls of one image into one store all succeed and leave one consistent image', async () => {
  const store = newStore();
  const name = `${env.registry.host}/test/multilayer`;
  const results = await Promise.all([1, 2, 3].map(() => store.tspod(['pull', '-q', name])));
  for (const r of results) {
    assertOk(r, 'concurrent pull');
    assert.is(r.stdout, `${name}:latest\n`);
  }
  const state = readState(store);
  assert.is(state.images.length, 1);
  assert.is(state.images[0]!.id, env.multilayer.configDigest);
  assert.equal(state.images[0]!.names, [`${name}:latest`]);
  assert.is(state.layers.length, env.multilayer.layers.length);
  const snap = snapshot(store);
  assert.equal(snap.layers, env.multilayer.layers.map((l) => hex(l.diffId)).sort());
  assert.equal(snap.tmp, [], 'no staging or retired dir left');
  assert.not.ok(snap.locked, 'no lock left');
  const blobs = [env.multilayer.configDigest, env.multilayer.manifestDigest, ...env.multilayer.layers.map((l) => l.digest)].map(hex).sort();
  assert.equal(snap.blobs, blobs);
  assert.equal(await mergedViewProblems(store, state.images[0]!.layers.map((d) => path.join(store.root, 'layers', hex(d), 'diff'))), []);
});

test('a layer present from another blob (gzip, then zstd): the second blob is stored too, not extracted again; save, push and rmi keep it right', async () => {
  const store = newStore();
  const content = await tarball([{ name: 'same/', type: 'directory' }, { name: 'same/file', content: 'one content, two compressions\n' }]);
  const images = (['gzip', 'zstd'] as const).map((compression) => buildImage({ config: { Cmd: ['sh'] }, layers: [{ layer: layerFromTar(content, compression), createdBy: `ADD ${compression}` }] }));
  const [gzipped, zstded] = images as [FixtureImage, FixtureImage];
  await pushImage({ url: env.registry.url }, 'same/gzip', 'latest', gzipped);
  await pushImage({ url: env.registry.url }, 'same/zstd', 'latest', zstded);
  assertOk(await store.tspod(['pull', `${env.registry.host}/same/gzip`]), 'pull the gzip image');
  assertOk(await store.tspod(['pull', `${env.registry.host}/same/zstd`]), 'pull the zstd image');
  const zstdBlob = zstded.layers[0]!.digest;
  const snap = snapshot(store);
  assert.ok(snap.blobs.includes(hex(zstdBlob)), 'the zstd blob is in the store');
  assert.equal(snap.layers, [hex(zstded.layers[0]!.diffId)], 'one layer, extracted once');
  assert.equal(snap.tmp, []);
  assert.equal(readState(store).layers.map((l) => l.digest), [gzipped.layers[0]!.digest], 'the layer keeps the blob it was extracted from');

  // save: the stored manifest as it is, digest and all.
  const dir = path.join(store.root, '..', 'saved-zstd');
  assertOk(await store.tspod(['save', '--format', 'oci-dir', '-o', dir, `${env.registry.host}/same/zstd`]), 'save');
  const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  assert.equal(index.manifests.map((m) => m.digest), [zstded.manifestDigest]);
  assert.ok(existsSync(path.join(dir, 'blobs', 'sha256', hex(zstdBlob))), 'the zstd blob is saved');
  // push: the same manifest and blob, so the same digest.
  const pushed = await store.tspod(['push', `${env.registry.host}/same/zstd`, `${env.registry.host}/copy/zstd:latest`]);
  assertOk(pushed, 'push');
  assert.match(pushed.stderr + pushed.stdout, new RegExp(`latest: digest: ${zstded.manifestDigest} `));

  // rmi: the zstd blob goes with the last image naming it; the layer stays for the gzip image.
  assertOk(await store.tspod(['rmi', `${env.registry.host}/same/zstd`]), 'rmi');
  const after = snapshot(store);
  assert.not.ok(after.blobs.includes(hex(zstdBlob)), 'the zstd blob is gone');
  assert.ok(after.blobs.includes(hex(gzipped.layers[0]!.digest)), 'the gzip blob stays');
  assert.equal(after.layers, [hex(gzipped.layers[0]!.diffId)]);
});

// Only an unprivileged user needs subordinate ids (as root there is no user namespace).
if (process.geteuid!() !== 0) {
  test('without a subuid range: one line naming the file and the fix, exit 125, nothing stored', async () => {
    const store = newStore();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tspod-subid-'));
    try {
      const subuid = path.join(dir, 'subuid');
      const subgid = path.join(dir, 'subgid');
      writeFileSync(subuid, 'someoneelse:100000:65536\n');
      writeFileSync(subgid, 'someoneelse:100000:65536\n');
      const r = await store.tspod(['pull', `${env.registry.host}/library/busybox`], { env: { TSPOD_SUBUID_FILE: subuid, TSPOD_SUBGID_FILE: subgid } });
      assertOneError(r, new RegExp(`no subuid range for user "${os.userInfo().username}" in ${subuid}: add one, e\\.g\\. as root: usermod --add-subuids`));
      const snap = snapshot(store);
      assert.equal([snap.imagesJson, snap.layers, snap.tmp, snap.locked], ['', [], [], false]);
      assert.not.ok(existsSync(path.join(store.runroot, 'pause.pid')), 'no namespace holder was left');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
