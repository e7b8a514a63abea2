/**
 * `system df`, `system prune`, the prune filters of `image prune` / `container prune`, and
 * `system reset`, end to end on a store with pulled fixture images and real containers
 * (created, running, exited with files written).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { humanSize } from '../src/core/humanize.js';
import { openContainerEnv, type ContainerEnv } from './harness/container-env.js';
import { assertOneError, snapshot } from './harness/store-checks.js';
import { seedRegistry } from './fixtures/seed.js';
import { multilayerImage, tinyImage, tinyTar, type FixtureImage } from './fixtures/images.js';

const test = suite('system');

const WRITTEN = 5000;

const env = {} as {
  c: ContainerEnv;
  tiny: FixtureImage;
  multilayer: FixtureImage;
  tinySize: number;
  multilayerSize: number;
  created: string;
  running: string;
  wrote: string;
};

const df4 = (n: number) => humanSize(n, 4);

/** Running: neither gone nor a zombie left for an init that does not reap (as in some CI containers). */
function isLive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test.before(async () => {
  env.c = await openContainerEnv(['busybox']);
  await seedRegistry({ url: env.c.registry.url }, ['multilayer']);
  await env.c.ok(['pull', '-q', 'test/multilayer']);
  env.tiny = await tinyImage();
  env.multilayer = await multilayerImage();
  env.tinySize = (await tinyTar()).length;
  env.multilayerSize = env.multilayer.layers.reduce((n, l) => n + gunzipSync(l.data).length, 0);
  env.created = (await env.c.ok(['create', '--label', 'role=idle', 'busybox', 'true'])).trim();
  env.running = (await env.c.ok(['run', '-d', '--label', 'role=server', 'busybox', 'sleep', '1000'])).trim();
  env.wrote = (await env.c.ok(['create', '--name', 'wrote', 'busybox', 'sh', '-c', `head -c ${WRITTEN} /dev/zero > /written`])).trim();
  await env.c.ok(['start', '-a', 'wrote']);
});

test.after(async () => {
  await env.c?.close();
});

test('system df: images counted by layer, active when a container uses them; containers by what they wrote; no volumes', async () => {
  const reclaimableImages = env.multilayerSize - env.tinySize;
  const out = await env.c.ok(['system', 'df']);
  const lines = out.trimEnd().split('\n').map((l) => l.split(/ {2,}/));
  assert.equal(lines, [
    ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
    ['Images', '2', '1', df4(env.multilayerSize), `${df4(reclaimableImages)} (${Math.floor((reclaimableImages * 100) / env.multilayerSize)}%)`],
    ['Containers', '3', '1', df4(WRITTEN), `${df4(WRITTEN)} (100%)`],
    ['Local Volumes', '0', '0', '0B', '0B'],
  ]);
  assert.is(await env.c.ok(['system', 'df', '--format', '{{.Type}}:{{.TotalCount}}:{{.Active}}']), 'Images:2:1\nContainers:3:1\nLocal Volumes:0:0\n');
  const json = (await env.c.ok(['system', 'df', '--format', 'json'])).trimEnd().split('\n').map((l) => JSON.parse(l) as { Type: string });
  assert.equal(json.map((j) => j.Type), ['Images', 'Containers', 'Local Volumes']);
});

test('system df -v: per image (shared and unique size, containers), per container, volumes; --format json', async () => {
  const out = await env.c.ok(['system', 'df', '-v']);
  const sections = out.split('\n\n');
  assert.is(sections[0], 'Images space usage:');
  const images = sections[1]!.split('\n').map((l) => l.trimEnd().split(/ {2,}/));
  assert.equal(images[0], ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS']);
  const busybox = images.find((r) => r[0] === 'busybox')!;
  assert.equal(busybox.slice(4), [df4(env.tinySize), df4(env.tinySize), '0B', '3']);
  const multilayer = images.find((r) => r[0] === 'test/multilayer')!;
  assert.equal(multilayer.slice(4), [df4(env.multilayerSize), df4(env.tinySize), df4(env.multilayerSize - env.tinySize), '0']);
  assert.is(sections[2], 'Containers space usage:');
  const containers = sections[3]!.split('\n').map((l) => l.trimEnd().split(/ {2,}/));
  assert.equal(containers[0], ['CONTAINER ID', 'IMAGE', 'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES']);
  const wrote = containers.find((r) => r[0] === env.wrote.slice(0, 12))!;
  assert.equal([wrote[1], wrote[3], wrote[4], wrote[7]], ['busybox', '0', df4(WRITTEN), 'wrote']);
  assert.is(containers.length, 4);
  assert.is(sections[4], 'Local Volumes space usage:');
  assert.is(sections[5], 'VOLUME NAME   LINKS     SIZE\n');
  const json = JSON.parse(await env.c.ok(['system', 'df', '-v', '--format', 'json'])) as { Images: unknown[]; Containers: { Names: string }[]; Volumes: unknown[] };
  assert.is(json.Images.length, 2);
  assert.is(json.Containers.length, 3);
  assert.ok(json.Containers.some((c) => c.Names === 'wrote'));
  assert.equal(json.Volumes, []);
  assertOneError(await env.c.tspod(['system', 'df', '-v', '--format', '{{.Type}}']), /--format with -v takes only json/);
});

test('prune filters: bad ones are refused before anything happens; until= and label= select', async () => {
  const before = snapshot(env.c.store);
  assertOneError(await env.c.tspod(['image', 'prune', '-f', '--filter', 'until=yesterday-ish']), /invalid filter 'until=yesterday-ish'/);
  assertOneError(await env.c.tspod(['container', 'prune', '--filter', 'color=red']), /invalid filter 'color=red': supported filters: until=/);
  assertOneError(await env.c.tspod(['system', 'prune', '--filter', 'label']), /invalid filter 'label'/);
  // The fixtures were created on 2024-01-01; the containers a moment ago.
  assert.is(await env.c.ok(['image', 'prune', '-a', '-f', '--filter', 'until=2023-06-01T00:00:00Z']), 'Total reclaimed space: 0B\n');
  assert.is(await env.c.ok(['image', 'prune', '-a', '-f', '--filter', 'label=org.tspod.fixture=nothing']), 'Total reclaimed space: 0B\n');
  assert.is(await env.c.ok(['container', 'prune', '-f', '--filter', 'until=1h']), '');
  assert.is(await env.c.ok(['container', 'prune', '-f', '--filter', 'label=role=server']), '', 'a running container is never pruned');
  assert.equal(snapshot(env.c.store), before);
  assert.is(await env.c.ok(['container', 'prune', '-f', '--filter', 'label=role=idle', '--filter', 'until=1700000000.5']), '');
  assert.is(await env.c.ok(['container', 'prune', '-f', '--filter', 'label!=role=server', '--filter', 'label=role=idle']), `Deleted Containers:\n${env.created}\n\n`);
});

test('system prune: asks first; removes stopped containers and dangling images, with -a unused ones; reports the space', async () => {
  const before = snapshot(env.c.store);
  assertOneError(await env.c.tspod(['system', 'prune']), /no answer to the confirmation prompt: use -f\/--force/);
  const cancelled = await env.c.tspod(['system', 'prune', '-a', '--volumes'], { input: 'n\n' });
  assert.is(cancelled.code, 125);
  assert.match(cancelled.stderr, /^WARNING! This will remove:\n {2}- all stopped containers\n {2}- all images without at least one container associated to them\n {2}- all volumes not used by at least one container \(tspod has none\)\n\nAre you sure you want to continue\? \[y\/N\] \nError: cancelled\n$/);
  assert.equal(snapshot(env.c.store), before);
  const pruned = await env.c.ok(['system', 'prune'], { input: 'y\n' });
  assert.is(pruned, `Deleted Containers:\n${env.wrote}\n\nTotal reclaimed space: ${humanSize(WRITTEN)}\n`);
  const all = await env.c.ok(['system', 'prune', '-a', '-f', '--volumes']);
  assert.is(
    all,
    `Deleted Images:\nuntagged: test/multilayer:latest\nuntagged: test/multilayer@${env.multilayer.manifestDigest}\ndeleted: ${env.multilayer.configDigest}\n\nTotal reclaimed space: ${humanSize(env.multilayerSize - env.tinySize)}\n`,
  );
  assert.is(await env.c.ok(['ps', '-a', '-q']), `${env.running.slice(0, 12)}\n`);
  assert.is(await env.c.ok(['images', '--format', '{{.Repository}}']), 'busybox\n');
  assert.is(await env.c.ok(['system', 'prune', '-a', '-f']), 'Total reclaimed space: 0B\n');
});

test('system reset: asks first; then no container, image, process or state is left, and the store works again', async () => {
  const { root, runroot } = env.c.store;
  const before = snapshot(env.c.store);
  const cancelled = await env.c.tspod(['system', 'reset'], { input: 'no\n' });
  assert.is(cancelled.code, 125);
  assert.match(cancelled.stderr, new RegExp(`- all containers\\n.*- all images\\n.*everything in the graphRoot directory: "${root}"\\n.*everything in the runRoot directory: "${runroot}"\\n`, 's'));
  assert.equal(snapshot(env.c.store), before);
  const pausePidFile = path.join(runroot, 'pause.pid');
  const pause = existsSync(pausePidFile) ? Number(readFileSync(pausePidFile, 'utf8').split(/\s/)[0]) : undefined;
  assert.is(await env.c.ok(['system', 'reset'], { input: 'y\n' }), '');
  assert.equal(readdirSync(root), []);
  assert.equal(readdirSync(runroot), []);
  if (pause) assert.not.ok(isLive(pause), 'the pause process is gone');
  assert.is(await env.c.ok(['images', '-q']), '');
  assert.is(await env.c.ok(['ps', '-a', '-q']), '');
  await env.c.ok(['pull', '-q', 'busybox']);
  assert.is(await env.c.ok(['run', '--rm', 'busybox', 'echo', 'usable']), 'usable\n');
});

test.run();
