/**
 * The fixture images are what they claim: digests agree with content, the multilayer layers
 * carry the entries MULTILAYER_VIEW depends on (and an independent extractor, umoci, produces
 * that view), the index has both platforms, and seeding a fresh registry publishes every tag.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startRegistry, type TestRegistry } from './harness/registry.js';
import {
  BUSYBOX_BINARY,
  DEBIAN_LAYER_GZ,
  DEBIAN_ROOTFS_TAR,
  FIXTURE_TIME,
  MEDIA,
  MULTIARCH_PLATFORMS,
  compress,
  debianImage,
  debianUnavailable,
  decompress,
  multiarchIndex,
  multilayerImage,
  readTar,
  sha256,
  tarball,
  tinyImage,
  tinyUncompressedImage,
  tinyZstdImage,
  writeOciLayout,
  type FixtureImage,
} from './fixtures/images.js';
import { FIXTURE_REFS, seedRegistry, type FixtureName } from './fixtures/seed.js';
import { checkView } from './fixtures/view.js';

const isRoot = process.getuid?.() === 0;

let registry: TestRegistry | undefined;
test.after(() => registry?.stop());

/** Every digest in the image agrees with the bytes it names. */
function assertConsistent(image: FixtureImage): void {
  const manifest = JSON.parse(image.manifest.toString()) as {
    mediaType: string;
    config: { digest: string; size: number; mediaType: string };
    layers: { digest: string; size: number; mediaType: string }[];
  };
  assert.is(manifest.mediaType, image.manifestMediaType);
  assert.is(image.manifestDigest, sha256(image.manifest));
  assert.is(manifest.config.digest, sha256(image.configBlob));
  assert.is(manifest.config.size, image.configBlob.length);
  assert.equal(JSON.parse(image.configBlob.toString()), image.config);
  assert.is(manifest.layers.length, image.layers.length);
  image.layers.forEach((layer, i) => {
    assert.is(manifest.layers[i]!.digest, sha256(layer.data), `layer ${i} digest`);
    assert.is(manifest.layers[i]!.size, layer.data.length);
    assert.is(manifest.layers[i]!.mediaType, layer.mediaType);
    assert.is(image.config.rootfs.diff_ids[i], sha256(decompress(layer.data, layer.compression)), `layer ${i} diff_id`);
  });
  const withLayer = image.config.history.filter((h) => !h.empty_layer);
  assert.is(withLayer.length, image.layers.length, 'one non-empty history entry per layer');
}

test('busybox in three compressions: consistent digests, same tar, expected media types', async () => {
  const gzip = await tinyImage();
  const zstd = await tinyZstdImage();
  const none = await tinyUncompressedImage();
  for (const image of [gzip, zstd, none]) assertConsistent(image);
  assert.is(gzip.format, 'docker');
  assert.is(gzip.layers[0]!.mediaType, MEDIA.docker.layerGzip);
  assert.is(zstd.layers[0]!.mediaType, MEDIA.oci.layerZstd);
  assert.is(none.layers[0]!.mediaType, MEDIA.oci.layerTar);
  assert.is(none.layers[0]!.digest, none.layers[0]!.diffId, 'an uncompressed layer is its own diff');
  assert.is(zstd.layers[0]!.data.subarray(0, 4).readUInt32LE(), 0xfd2fb528, 'zstd magic');
  assert.is(gzip.layers[0]!.diffId, zstd.layers[0]!.diffId);
  assert.is(gzip.layers[0]!.diffId, none.layers[0]!.diffId);
  assert.equal(gzip.config.config.Cmd, ['sh']);

  const entries = new Map((await readTar(none.layers[0]!.data)).map((e) => [e.header.name, e]));
  const busybox = entries.get('bin/busybox')!;
  assert.ok(busybox, 'bin/busybox');
  assert.is(busybox.header.mode, 0o755);
  assert.is(busybox.content.length, statSync(BUSYBOX_BINARY).size);
  for (const applet of ['sh', 'ls', 'cat', 'echo', 'id', 'true', 'false', 'sleep', 'env']) {
    const link = entries.get(`bin/${applet}`);
    assert.is(link?.header.type, 'symlink', `bin/${applet}`);
    assert.is(link?.header.linkname, 'busybox');
  }
  assert.match(entries.get('etc/passwd')!.content.toString(), /^root:x:0:0:/);
  assert.match(entries.get('etc/group')!.content.toString(), /^root:x:0:/);
  assert.is(entries.get('tmp/')?.header.mode, 0o1777);
});

test('tarball and gzip are deterministic', async () => {
  const entries = [{ name: 'a/', type: 'directory' as const }, { name: 'a/b', content: 'b\n' }];
  const one = await tarball(entries);
  const two = await tarball(entries);
  assert.ok(one.equals(two));
  assert.ok(compress(one, 'gzip').equals(compress(two, 'gzip')));
  const [dir] = await readTar(one);
  assert.is(dir!.header.mtime.getTime(), FIXTURE_TIME.getTime());
});

test('multilayer: whiteouts, opaque marker and special entries sit in the layers they should', async () => {
  const image = await multilayerImage();
  assertConsistent(image);
  assert.is(image.format, 'oci');
  assert.is(image.layers.length, 4);
  assert.is(image.layers[0]!.digest, (await tinyImage()).layers[0]!.digest, 'starts with the busybox layer');
  const layers = await Promise.all(image.layers.slice(1).map(async (l) => new Map((await readTar(decompress(l.data, l.compression))).map((e) => [e.header.name, e.header]))));
  const [base, changes, readd] = layers as [Map<string, import('tar-stream').Header>, Map<string, import('tar-stream').Header>, Map<string, import('tar-stream').Header>];

  assert.is(base.get('data/suid')?.mode, 0o4755);
  assert.is(base.get('data/sgid-dir/')?.mode, 0o2775);
  assert.is(base.get('data/owned-1000')?.uid, 1000);
  assert.is(base.get('data/owned-1000')?.gid, 1000);
  assert.is(base.get('data/owned-nobody')?.uid, 65534);
  assert.is(base.get('data/owned-nobody')?.gid, 65534);
  assert.is(base.get('data/private/')?.type, 'directory');
  assert.is(base.get('data/private/')?.mode, 0o700);
  assert.is(base.get('data/hard')?.type, 'link');
  assert.is(base.get('data/hard')?.linkname, 'data/keep.txt');
  assert.is(base.get('data/link')?.linkname, 'keep.txt');
  assert.is(base.get('data/abs-link')?.linkname, '/data/keep.txt');
  assert.equal(base.get('data/xattr.txt')?.pax, { path: 'data/xattr.txt', 'SCHILY.xattr.user.foo': 'bar' });
  assert.ok(base.has('data/gone.txt') && base.has('data/opaque/old.txt') && base.has('data/gonedir/sub/b.txt'));

  for (const name of ['data/.wh.gone.txt', 'data/.wh.gonedir', 'data/opaque/.wh..wh..opq']) {
    assert.is(changes.get(name)?.type, 'file', name);
  }
  assert.ok(changes.has('data/opaque/new.txt'));
  assert.ok(readd.has('data/gonedir/reborn.txt') && readd.get('data/replace-me/')?.type === 'directory');
});

test('multilayer: umoci extracts exactly MULTILAYER_VIEW, and checkView notices a difference', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tspod-fixture-'));
  try {
    writeOciLayout(path.join(dir, 'oci'), [{ ref: 'latest', image: await multilayerImage() }]);
    // Unprivileged, umoci keeps files owned by the caller (ownership then goes to an xattr).
    execFileSync('umoci', ['unpack', ...(isRoot ? [] : ['--rootless']), '--image', `${path.join(dir, 'oci')}:latest`, path.join(dir, 'bundle')], { stdio: 'pipe' });
    const rootfs = path.join(dir, 'bundle', 'rootfs');
    assert.equal(await checkView(rootfs, undefined, { ignoreOwnership: !isRoot }), []);

    writeFileSync(path.join(rootfs, 'data', 'gone.txt'), 'back\n');
    chmodSync(path.join(rootfs, 'data', 'suid'), 0o755);
    const problems = await checkView(rootfs, undefined, { ignoreOwnership: !isRoot });
    assert.equal(problems, [
      '/data: listing is [abs-link,added.txt,empty-dir,gone.txt,gonedir,hard,keep.txt,link,opaque,owned-1000,owned-nobody,private,replace-me,sgid-dir,suid,xattr.txt], expected [abs-link,added.txt,empty-dir,gonedir,hard,keep.txt,link,opaque,owned-1000,owned-nobody,private,replace-me,sgid-dir,suid,xattr.txt]',
      '/data/suid: mode is 755, expected 4755',
      '/data/gone.txt: present, expected absent',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('multiarch: an OCI index of linux/amd64 and linux/arm64, each with its /arch', async () => {
  const index = await multiarchIndex();
  const parsed = JSON.parse(index.index.toString()) as { mediaType: string; manifests: { digest: string; size: number; platform: object }[] };
  assert.is(parsed.mediaType, MEDIA.oci.index);
  assert.is(index.indexDigest, sha256(index.index));
  assert.equal(parsed.manifests.map((m) => m.platform), MULTIARCH_PLATFORMS);
  assert.equal(MULTIARCH_PLATFORMS.map((p) => p.architecture), ['amd64', 'arm64']);
  for (const [i, { platform, image }] of index.images.entries()) {
    assertConsistent(image);
    assert.is(parsed.manifests[i]!.digest, image.manifestDigest);
    assert.is(parsed.manifests[i]!.size, image.manifest.length);
    assert.is(image.config.architecture, platform.architecture);
    const marker = await readTar(decompress(image.layers[1]!.data, 'gzip'));
    assert.equal(marker.map((e) => [e.header.name, e.content.toString()]), [['arch', `${platform.architecture}\n`]]);
  }
  assert.is.not(index.images[0]!.image.manifestDigest, index.images[1]!.image.manifestDigest);
});

function get(url: string, accept?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: accept ? { Accept: accept } : {} }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

const ACCEPT = [MEDIA.oci.index, MEDIA.oci.manifest, MEDIA.docker.manifest].join(', ');

async function assertPublished(url: string, name: FixtureName, digest: string, mediaType: string): Promise<void> {
  const { repo, tags } = FIXTURE_REFS[name];
  const list = await get(`${url}/v2/${repo}/tags/list`);
  assert.is(list.status, 200, `${repo} tags/list`);
  assert.equal((JSON.parse(list.body) as { tags: string[] }).tags.sort(), [...tags].sort());
  for (const tag of tags) {
    const m = await get(`${url}/v2/${repo}/manifests/${tag}`, ACCEPT);
    assert.is(m.status, 200, `${repo}:${tag}`);
    assert.is(m.headers['docker-content-digest'], digest);
    assert.is(m.headers['content-type'], mediaType);
  }
}

test('seedRegistry publishes every fixture under its tags in a fresh registry, and again is a no-op', async () => {
  registry ??= await startRegistry();
  const names: FixtureName[] = ['busybox', 'multilayer', 'multiarch', 'busybox-zstd', 'busybox-uncompressed'];
  const seeded = await seedRegistry({ url: registry.url }, names);
  assert.equal(Object.keys(seeded), names);
  for (const name of names) await assertPublished(registry.url, name, seeded[name]!.digest, seeded[name]!.mediaType);
  assert.is(seeded.busybox!.mediaType, MEDIA.docker.manifest);
  assert.is(seeded.multilayer!.mediaType, MEDIA.oci.manifest);
  assert.is(seeded.multiarch!.mediaType, MEDIA.oci.index);
  assert.equal(Object.keys(seeded.multiarch!.platforms!), ['linux/amd64', 'linux/arm64/v8']);
  for (const digest of Object.values(seeded.multiarch!.platforms!)) {
    const child = await get(`${registry.url}/v2/test/multiarch/manifests/${digest}`, ACCEPT);
    assert.is(child.status, 200);
  }
  assert.equal(await seedRegistry({ url: registry.url }, names), seeded);
});

test('debian: cached layer matches its rootfs tar, carries no device nodes, and seeds as latest + bookworm', async () => {
  const why = debianUnavailable();
  if (why) {
    console.log(`  skipped the debian fixture check: ${why}`);
    return;
  }
  const image = await debianImage();
  const layer = image.layers[0]!;
  assert.is(layer.digest, sha256(layer.data));
  const diff = createHash('sha256');
  await pipeline(createReadStream(DEBIAN_LAYER_GZ), createGunzip(), diff);
  assert.is(layer.diffId, 'sha256:' + diff.digest('hex'), 'the gzip layer unpacks to the cached rootfs tar');

  const listing = execFileSync('tar', ['-tvf', DEBIAN_ROOTFS_TAR], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n');
  assert.ok(listing.some((l) => / \.\/usr\/bin\/bash$/.test(l)), 'has bash');
  assert.equal(listing.filter((l) => /^[cbp]/.test(l)), [], 'no device nodes or fifos');
  assert.not.ok(listing.some((l) => / \.\/etc\/resolv\.conf/.test(l)), 'no host resolv.conf');

  registry ??= await startRegistry();
  const seeded = await seedRegistry({ url: registry.url }, ['debian']);
  await assertPublished(registry.url, 'debian', seeded.debian!.digest, MEDIA.oci.manifest);
});

test.run();
