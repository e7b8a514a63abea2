/**
 * The local image commands end to end through the CLI, on images pulled from a loopback
 * registry that stands in for docker.io (a mirror), so names look as they do on Docker Hub:
 * images (columns, -a, -q, --digests, --no-trunc, filters, formats), image inspect, tag,
 * rmi / image rm, image prune (and rmi/prune of an image a container uses).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { humanSize } from '../src/core/humanize.js';
import { makeStore, type TestStore } from './harness/cli.js';
import { startRegistry, type TestRegistry } from './harness/registry.js';
import { assertOk, assertOneError, readState, snapshot } from './harness/store-checks.js';
import { hostArch, multiarchIndex, multilayerImage, multilayerTars, tinyImage, tinyTar, type FixtureImage } from './fixtures/images.js';
import { seedRegistry } from './fixtures/seed.js';

const test = suite('images');

const env = {} as {
  registry: TestRegistry;
  store: TestStore;
  tiny: FixtureImage;
  multilayer: FixtureImage;
  /** the multiarch image pulled for this host */
  multiarch: FixtureImage;
  multiarchIndexDigest: string;
  tinySize: number;
  multilayerSize: number;
};

const hex = (digest: string) => digest.slice('sha256:'.length);
const short = (digest: string) => hex(digest).slice(0, 12);

async function tspod(args: string[]): Promise<string> {
  const r = await env.store.tspod(args);
  assertOk(r, args.join(' '));
  return r.stdout;
}

/** `tspod images ARGS` rows as { column header: value }, after checking the header and alignment. */
async function imageRows(args: string[], columns: string[]): Promise<Record<string, string>[]> {
  const lines = (await tspod(['images', ...args])).trimEnd().split('\n');
  const header = lines[0]!;
  assert.equal(header.split(/ {2,}/), columns, 'header');
  const starts = columns.map((c) => header.indexOf(c));
  return lines.slice(1).map((line) => {
    const cells = line.split(/ {2,}/);
    assert.is(cells.length, columns.length, `row "${line}"`);
    cells.forEach((cell, i) => assert.is(line.indexOf(cell, i === 0 ? 0 : starts[i - 1]! + 1), starts[i], `column ${columns[i]} of "${line}" is aligned`));
    return Object.fromEntries(columns.map((c, i) => [c, cells[i]!]));
  });
}

function layerDirs(): string[] {
  return readdirSync(path.join(env.store.root, 'layers')).sort();
}

test.before(async () => {
  env.registry = await startRegistry();
  await seedRegistry({ url: env.registry.url }, ['busybox', 'multilayer', 'multiarch']);
  env.tiny = await tinyImage();
  env.multilayer = await multilayerImage();
  const index = await multiarchIndex();
  env.multiarch = index.images.find((i) => i.platform.architecture === hostArch())!.image;
  env.multiarchIndexDigest = index.indexDigest;
  env.tinySize = (await tinyTar()).length;
  env.multilayerSize = env.tinySize + (await multilayerTars()).reduce((n, t) => n + t.length, 0);
  env.store = makeStore();
  env.store.registries({ registries: { 'docker.io': { mirrors: [env.registry.host] } } });
  for (const name of ['busybox', 'test/multilayer']) await tspod(['pull', '-q', name]);
});

test.after(async () => {
  await env.store?.cleanup();
  env.registry?.stop();
});

test('images: Docker columns, one row per name, aligned; -a is the same; -q prints short IDs', async () => {
  const columns = ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
  const rows = await imageRows([], columns);
  const expected = [
    { REPOSITORY: 'busybox', TAG: 'latest', 'IMAGE ID': short(env.tiny.configDigest), SIZE: humanSize(env.tinySize) },
    { REPOSITORY: 'test/multilayer', TAG: 'latest', 'IMAGE ID': short(env.multilayer.configDigest), SIZE: humanSize(env.multilayerSize) },
  ];
  assert.equal(rows.map(({ CREATED, ...rest }) => rest).sort((a, b) => a.REPOSITORY.localeCompare(b.REPOSITORY)), expected);
  for (const row of rows) assert.match(row.CREATED, /^\d+ years ago$/);
  assert.equal(await imageRows(['-a'], columns), rows);
  const ids = (await tspod(['images', '-q'])).trimEnd().split('\n').sort();
  assert.equal(ids, [short(env.tiny.configDigest), short(env.multilayer.configDigest)].sort());
});

test('images --digests and --no-trunc', async () => {
  const rows = await imageRows(['--digests', '--no-trunc'], ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE']);
  const busybox = rows.find((r) => r.REPOSITORY === 'busybox')!;
  assert.is(busybox.DIGEST, env.tiny.manifestDigest);
  assert.is(busybox['IMAGE ID'], env.tiny.configDigest);
});

test('images --format: a template, a table template, json', async () => {
  const names = (await tspod(['images', '--format', '{{.Repository}}:{{.Tag}}'])).trimEnd().split('\n').sort();
  assert.equal(names, ['busybox:latest', 'test/multilayer:latest']);
  const table = (await tspod(['images', '--format', 'table {{.Repository}}\t{{.ID}}'])).trimEnd().split('\n').map((l) => l.split(/ {2,}/));
  assert.equal(table[0], ['REPOSITORY', 'IMAGE ID']);
  assert.ok(table.some(([repo, id]) => repo === 'busybox' && id === short(env.tiny.configDigest)), table.join('\n'));
  const json = (await tspod(['images', '--format', 'json'])).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const busybox = json.find((o) => o.Repository === 'busybox')!;
  assert.is(busybox.Tag, 'latest');
  assert.is(busybox.ID, short(env.tiny.configDigest));
  assert.is(busybox.Digest, env.tiny.manifestDigest);
  assert.is(busybox.Size, humanSize(env.tinySize));
  assert.match(String(busybox.CreatedSince), /years ago/);
});

test('images filters: reference= (and the positional form), dangling=, bad filters', async () => {
  assert.is(await tspod(['images', '--format', '{{.Repository}}', '--filter', 'reference=busybox']), 'busybox\n');
  assert.is(await tspod(['images', '--format', '{{.Repository}}', '--filter', 'reference=test/*']), 'test/multilayer\n');
  assert.is(await tspod(['images', '--format', '{{.Repository}}', 'test/multilayer:latest']), 'test/multilayer\n');
  assert.is(await tspod(['images', '--format', '{{.Repository}}', '--filter', 'dangling=true']), '');
  assert.is((await tspod(['images', '-q', '--filter', 'dangling=false'])).trimEnd().split('\n').length, 2);
  const before = snapshot(env.store);
  assertOneError(await env.store.tspod(['images', '--filter', 'bogus=1']), /invalid filter "bogus=1"/);
  assertOneError(await env.store.tspod(['images', '--filter', 'dangling=maybe']), /invalid filter "dangling=maybe": dangling takes true or false/);
  assert.equal(snapshot(env.store), before);
});

test('image inspect: Docker/Podman fields, -f with json and plain values, several images, a missing one among them', async () => {
  const [busybox] = JSON.parse(await tspod(['image', 'inspect', 'busybox'])) as Record<string, any>[];
  assert.is(busybox!.Id, env.tiny.configDigest);
  assert.equal(busybox!.RepoTags, ['busybox:latest']);
  assert.equal(busybox!.RepoDigests, [`busybox@${env.tiny.manifestDigest}`]);
  assert.is(busybox!.Created, env.tiny.config.created);
  assert.equal(busybox!.Config.Cmd, ['sh']);
  assert.equal(busybox!.Config.Env, env.tiny.config.config.Env);
  assert.is(busybox!.Architecture, hostArch());
  assert.is(busybox!.Os, 'linux');
  assert.equal(busybox!.RootFS, { Type: 'layers', Layers: [env.tiny.layers[0]!.diffId] });
  assert.is(busybox!.Size, env.tinySize);

  const layers = env.multilayer.layers.map((l) => l.diffId);
  assert.is(await tspod(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', 'test/multilayer']), `${JSON.stringify(layers)}\n`);
  assert.is(await tspod(['image', 'inspect', '-f', '{{.Config.Cmd}}', 'test/multilayer:latest']), '[sh]\n');
  // The same image by short ID, full ID and digest; `inspect` without `image` finds images too.
  const byId = ['image', 'inspect', '-f', '{{.Id}}', short(env.tiny.configDigest), env.tiny.configDigest, `busybox@${env.tiny.manifestDigest}`];
  assert.is(await tspod(byId), `${env.tiny.configDigest}\n`.repeat(3));
  assert.is(await tspod(['inspect', '-f', '{{.Id}}', 'busybox']), `${env.tiny.configDigest}\n`);

  const both = JSON.parse(await tspod(['image', 'inspect', 'busybox', 'test/multilayer'])) as { Id: string }[];
  assert.equal(both.map((i) => i.Id), [env.tiny.configDigest, env.multilayer.configDigest]);

  const mixed = await env.store.tspod(['image', 'inspect', '-f', '{{.Id}}', 'nosuch', 'busybox', 'other/missing:v1']);
  assert.is(mixed.code, 125, mixed.stderr);
  assert.is(mixed.stdout, `${env.tiny.configDigest}\n`);
  assert.equal(mixed.stderr.trimEnd().split('\n'), ['Error: no such image: nosuch', 'Error: no such image: other/missing:v1']);
});

test('tag: more names for one image; a bad target or a missing source changes nothing', async () => {
  await tspod(['tag', 'busybox', 'mybox:v1', 'other/name', 'localhost:5000/box:2']);
  const names = await tspod(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
  const id = short(env.tiny.configDigest);
  for (const n of ['busybox:latest', 'mybox:v1', 'other/name:latest']) assert.ok(names.includes(`${n} ${id}\n`), `${n} in:\n${names}`);
  assert.is(await tspod(['image', 'inspect', '-f', '{{.Id}}', 'localhost:5000/box:2']), `${env.tiny.configDigest}\n`);
  const before = snapshot(env.store);
  assertOneError(await env.store.tspod(['tag', 'busybox', 'UPPER']), /invalid reference format "UPPER"/);
  assertOneError(await env.store.tspod(['tag', 'busybox', `x@${env.tiny.manifestDigest}`]), /cannot tag with a digest/);
  assertOneError(await env.store.tspod(['tag', 'nosuch', 'x']), /no such image: nosuch/);
  assert.equal(snapshot(env.store), before);
});

test('rmi: a name untags (no tag means :latest), a missing image exits 1 and the rest still goes', async () => {
  const r = await env.store.tspod(['rmi', 'mybox:v1', 'other/name', 'nosuch']);
  assert.is(r.code, 1, r.stderr);
  assert.is(r.stdout, 'Untagged: mybox:v1\nUntagged: other/name:latest\n');
  assert.is(r.stderr, 'Error: no such image: nosuch\n');
  const state = readState(env.store);
  const busybox = state.images.find((i) => i.id === env.tiny.configDigest)!;
  assert.equal(busybox.names.sort(), ['docker.io/library/busybox:latest', 'localhost:5000/box:2']);
  const before = snapshot(env.store);
  assertOneError(await env.store.tspod(['rmi', 'nosuch']), /no such image: nosuch/, 1);
  assert.equal(snapshot(env.store), before);
});

test('rmi by ID of an image in several repositories needs -f; its own layers go, shared ones stay', async () => {
  const id = short(env.tiny.configDigest);
  const before = snapshot(env.store);
  assertOneError(await env.store.tspod(['rmi', id]), new RegExp(`^Error: conflict: unable to delete ${id} \\(must be forced\\) - image is referenced in multiple repositories`));
  assert.equal(snapshot(env.store), before);
  const r = await env.store.tspod(['image', 'rm', '-f', id]);
  assertOk(r, 'rmi -f');
  assert.equal(r.stdout.split('\n').filter(Boolean).sort(), [
    `Deleted: ${env.tiny.configDigest}`,
    `Untagged: busybox:latest`,
    `Untagged: busybox@${env.tiny.manifestDigest}`,
    'Untagged: localhost:5000/box:2',
  ]);
  assert.equal(readState(env.store).images.map((i) => i.id), [env.multilayer.configDigest]);
  // busybox's only layer is multilayer's base layer: it stays.
  assert.equal(layerDirs(), env.multilayer.layers.map((l) => hex(l.diffId)).sort());
  assert.ok(existsSync(path.join(env.store.root, 'blobs/sha256', hex(env.tiny.layers[0]!.digest))));
});

test('rmi by digest deletes; the removed image leaves no layer dir and no blob behind', async () => {
  await tspod(['pull', '-q', 'test/multiarch']);
  const markerLayer = env.multiarch.layers[1]!;
  assert.ok(layerDirs().includes(hex(markerLayer.diffId)));
  const r = await env.store.tspod(['rmi', `test/multiarch@${env.multiarchIndexDigest}`]);
  assertOk(r, 'rmi by digest');
  assert.ok(r.stdout.includes(`Deleted: ${env.multiarch.configDigest}\n`), r.stdout);
  assert.equal(layerDirs(), env.multilayer.layers.map((l) => hex(l.diffId)).sort());
  const blobs = readdirSync(path.join(env.store.root, 'blobs/sha256'));
  for (const gone of [markerLayer.digest, env.multiarch.configDigest, env.multiarch.manifestDigest]) assert.not.ok(blobs.includes(hex(gone)), `blob ${gone} is gone`);
  assert.equal(readdirSync(path.join(env.store.root, 'tmp')), []);
});

test('image prune: a re-tagged image becomes dangling and goes; -a removes every image but those containers use', async () => {
  await tspod(['pull', '-q', 'busybox']);
  await tspod(['pull', '-q', 'test/multiarch']);
  assert.is(await tspod(['image', 'prune', '-f']), 'Total reclaimed space: 0B\n');
  // test/multiarch:latest now names busybox: the multiarch image is left without a tag, and shown
  // (as Docker does) under the repository it was pulled from.
  await tspod(['tag', 'busybox', 'test/multiarch']);
  const dangling = await tspod(['images', '--format', '{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}', '--filter', 'dangling=true']);
  assert.is(dangling, `test/multiarch <none> ${env.multiarchIndexDigest} ${short(env.multiarch.configDigest)}\n`);
  const before = snapshot(env.store);
  assertOneError(await env.store.tspod(['image', 'prune']), /no answer to the confirmation prompt: use -f\/--force/);
  assertOneError(await env.store.tspod(['image', 'prune'], { input: 'n\n' }), /cancelled/);
  assert.equal(snapshot(env.store), before);
  const pruned = await tspod(['image', 'prune', '-f']);
  assert.is(pruned, `Deleted Images:\nuntagged: test/multiarch@${env.multiarchIndexDigest}\ndeleted: ${env.multiarch.configDigest}\n\nTotal reclaimed space: ${humanSize(gunzipSync(env.multiarch.layers[1]!.data).length)}\n`);
  assert.is(await tspod(['images', '-q', '--filter', 'dangling=true']), '');
  assert.equal(layerDirs(), env.multilayer.layers.map((l) => hex(l.diffId)).sort());

  // An image a container was created from stays, whatever rmi -f or prune -a say.
  const created = await env.store.tspod(['create', 'busybox', 'true']);
  assertOk(created, 'create');
  const container = created.stdout.trim().slice(0, 12);
  const id = short(env.tiny.configDigest);
  const withContainer = snapshot(env.store);
  assertOneError(await env.store.tspod(['rmi', '-f', id]), new RegExp(`image ${id} is in use by container ${container}: remove the container first`), 2);
  assert.equal(snapshot(env.store), withContainer);
  const kept = await tspod(['image', 'prune', '-a', '-f']);
  assert.match(kept, new RegExp(`\ndeleted: ${env.multilayer.configDigest}\n`));
  assert.match(kept, new RegExp(`Total reclaimed space: ${humanSize(env.multilayerSize - env.tinySize)}\n$`));
  assert.equal(readState(env.store).images.map((i) => i.id), [env.tiny.configDigest]);
  assert.equal(layerDirs(), [hex(env.tiny.layers[0]!.diffId)]);

  assertOk(await env.store.tspod(['rm', container]), 'rm');
  const all = await tspod(['image', 'prune', '-a', '-f']);
  assert.match(all, new RegExp(`^Deleted Images:\n(untagged: .*\n)+deleted: ${env.tiny.configDigest}\n\nTotal reclaimed space: ${humanSize(env.tinySize)}\n$`));
  const snap = snapshot(env.store);
  assert.equal(readState(env.store), { version: 1, images: [], layers: [] });
  assert.equal([snap.layers, snap.blobs, snap.tmp, snap.locked], [[], [], [], false]);
});

test.run();
