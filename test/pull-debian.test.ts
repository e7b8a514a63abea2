/**
 * The debian fixture (one 120 MB layer) through the CLI: `debian` resolved to
 * docker.io/library/debian:latest through a mirror, and a pull killed with SIGKILL in the middle
 * of its download, after which the next pull succeeds and leaves a consistent store.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore, type TestStore } from './harness/cli.js';
import { startRecordingProxy, type RecordingProxy } from './harness/recording-proxy.js';
import { startRegistry, type TestRegistry } from './harness/registry.js';
import { assertOk, readState, snapshot } from './harness/store-checks.js';
import { debianImage, debianUnavailable, type FixtureImage } from './fixtures/images.js';
import { seedRegistry } from './fixtures/seed.js';

const test = suite('pull: debian');

const env = {} as {
  registry: TestRegistry;
  proxy: RecordingProxy;
  debian: FixtureImage;
  stores: TestStore[];
};

const hex = (digest: string) => digest.slice('sha256:'.length);

function newStore(): TestStore {
  const s = makeStore();
  env.stores.push(s);
  return s;
}

/** CI builds the cache; without it these tests fail rather than pass without testing anything. */
function requireDebian(): void {
  const why = debianUnavailable();
  if (why) throw new Error(`the debian fixture is missing: ${why}`);
}

test.before(async () => {
  env.stores = [];
  if (debianUnavailable()) return;
  env.registry = await startRegistry();
  await seedRegistry({ url: env.registry.url }, ['debian']);
  env.debian = await debianImage();
  env.proxy = await startRecordingProxy(env.registry.url);
});

test.after(async () => {
  for (const s of env.stores ?? []) await s.cleanup();
  env.proxy?.stop();
  env.registry?.stop();
});

test('`debian` is docker.io/library/debian:latest, pulled through a docker.io mirror', async () => {
  requireDebian();
  const store = newStore();
  store.registries({ registries: { 'docker.io': { mirrors: [env.registry.host] } } });
  const r = await store.tspod(['pull', 'debian']);
  assertOk(r, 'pull debian');
  assert.is(r.stdout, 'docker.io/library/debian:latest\n');
  assert.match(r.stderr, /^latest: Pulling from docker\.io\/library\/debian$/m);
  assert.match(r.stderr, /Status: Downloaded newer image for debian:latest\n$/);
  const images = await store.tspod(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
  assert.is(images.stdout, `debian:latest ${hex(env.debian.configDigest).slice(0, 12)}\n`);
  const inspect = await store.tspod(['image', 'inspect', '-f', '{{.Config.Cmd}} {{.RepoTags}}', 'debian']);
  assert.is(inspect.stdout, '[bash] [debian:latest]\n');
});

test('a pull killed mid-download leaves only a staging dir, which the next (successful) pull removes', async () => {
  requireDebian();
  const store = newStore();
  const { proxy, debian } = env;
  const layer = debian.layers[0]!;
  proxy.stallAfter = Math.floor(layer.size / 3);
  store.registries({ registries: { 'docker.io': { mirrors: [proxy.host] } } });
  const killed = store.tspod(['pull', 'debian']);
  await proxy.stalled();
  // The staging dir is named after the pull's pid (and is made before the download starts).
  const staging = readdirSync(path.join(store.root, 'tmp'));
  assert.is(staging.length, 1, `one staging dir: ${staging.join(', ')}`);
  const pid = Number(staging[0]!.split('-')[0]);
  process.kill(pid, 'SIGKILL');
  const r = await killed;
  assert.is.not(r.code, 0);
  assert.is(readState(store).images.length, 0);
  assert.equal(readdirSync(path.join(store.root, 'tmp')), staging, 'the killed pull left its staging dir');

  proxy.stallAfter = undefined;
  store.registries({ registries: { 'docker.io': { mirrors: [env.registry.host] } } });
  const again = await store.tspod(['pull', '-q', 'debian']);
  assertOk(again, 'pull after the kill');
  assert.is(again.stdout, 'docker.io/library/debian:latest\n');
  const state = readState(store);
  assert.equal(state.images.map((i) => [i.id, i.names]), [[debian.configDigest, ['docker.io/library/debian:latest']]]);
  assert.equal(state.layers.map((l) => l.diffID), [layer.diffId]);
  const snap = snapshot(store);
  assert.equal(snap.tmp, [], 'no stale staging dir after the second pull');
  assert.equal(snap.layers, [hex(layer.diffId)]);
  assert.not.ok(snap.locked);
  assert.ok(readdirSync(path.join(store.root, 'layers', hex(layer.diffId), 'diff')).includes('usr'));
});

test.run();
