/**
 * `history` / `image history` end to end on pulled fixture images: Docker's columns, the layer
 * sizes matched to the config's non-empty history entries, <missing> below the top entry, -H,
 * --no-trunc, -q, --format (template, table, json), an image whose config has no history, and
 * bad input.
 */
import { gunzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { humanSize, timeAgo } from '../src/core/humanize.js';
import { openContainerEnv, type ContainerEnv } from './harness/container-env.js';
import { assertOneError } from './harness/store-checks.js';
import { pushImage } from './harness/push.js';
import { seedRegistry } from './fixtures/seed.js';
import { FIXTURE_TIME, multilayerImage, tinyImage, tinyTar, type FixtureImage } from './fixtures/images.js';

const test = suite('history');

const env = {} as { c: ContainerEnv; tiny: FixtureImage; multilayer: FixtureImage; nohist: { id: string; sizes: number[] } };

const short = (digest: string) => digest.slice('sha256:'.length, 'sha256:'.length + 12);
const AT = '2024-01-01T00:00:00Z';

function table(out: string): string[][] {
  const lines = out.trimEnd().split('\n');
  assert.equal(lines[0]!.trimEnd().split(/ {2,}/), ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT']);
  return lines.slice(1).map((l) => l.trimEnd().split(/ {2,}/));
}

test.before(async () => {
  env.c = await openContainerEnv(['busybox']);
  await seedRegistry({ url: env.c.registry.url }, ['multilayer']);
  await env.c.ok(['pull', '-q', 'test/multilayer']);
  env.tiny = await tinyImage();
  env.multilayer = await multilayerImage();
  // An image as some importers write it: layers, but no history in its config.
  const layers = [env.tiny.layers[0]!, env.multilayer.layers[1]!];
  const config = { created: AT, architecture: env.tiny.config.architecture, os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } };
  const pushed = await pushImage({ url: env.c.registry.url }, 'test/nohist', 'latest', { config, layers: layers.map((l) => ({ data: l.data, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' })) });
  env.nohist = { id: pushed.configDigest, sizes: layers.map((l) => gunzipSync(l.data).length) };
  await env.c.ok(['pull', '-q', `${env.c.registry.host}/test/nohist`]);
});

test.after(async () => {
  await env.c?.close();
});

test("history: Docker's columns, newest first, the image ID on top and <missing> below, sizes of the layers", async () => {
  const created = timeAgo(FIXTURE_TIME.toISOString());
  assert.equal(table(await env.c.ok(['history', 'busybox'])), [
    [short(env.tiny.configDigest), created, 'CMD ["sh"]', '0B'],
    ['<missing>', created, 'ADD busybox-static /bin (tspod fixture)', humanSize((await tinyTar()).length)],
  ]);
});

test('history -H=false --no-trunc: bytes, RFC 3339 times, full IDs and commands; layers matched past empty entries', async () => {
  const sizes = env.multilayer.layers.map((l) => gunzipSync(l.data).length);
  const expected = [
    `${env.multilayer.configDigest}|${AT}|0|WORKDIR /data`,
    `<missing>|${AT}|${sizes[3]}|RUN mkdir /data/gonedir && rm /data/replace-me && mkdir /data/replace-me`,
    `<missing>|${AT}|${sizes[2]}|RUN rm -r /data/gone.txt /data/gonedir && rm -r /data/opaque/* && echo upper > /data/opaque/new.txt`,
    `<missing>|${AT}|0|ENV MULTILAYER=1`,
    `<missing>|${AT}|${sizes[1]}|COPY base /data`,
    `<missing>|${AT}|${sizes[0]}|ADD busybox-static /bin (tspod fixture)`,
  ];
  const format = '{{.ID}}|{{.Created}}|{{.Size}}|{{.CreatedBy}}';
  assert.is(await env.c.ok(['history', '-H=false', '--no-trunc', '--format', format, 'test/multilayer']), expected.join('\n') + '\n');
  assert.is(await env.c.ok(['image', 'history', '--human=false', '--no-trunc', '--format', format, short(env.multilayer.configDigest)]), expected.join('\n') + '\n');
  const rows = (await env.c.ok(['history', '--human=false', 'test/multilayer'])).trimEnd().split('\n').slice(1).map((l) => l.trimEnd().split(/ {2,}/));
  assert.equal(rows[2], ['<missing>', AT, 'RUN rm -r /data/gone.txt /data/gonedir && rm…', String(sizes[2])]);
  assert.is([...rows[2]![2]!].length, 45);
});

test('history -q, --format table and json: .ID .Created .CreatedSince .CreatedAt .CreatedBy .Size .Comment .Tags', async () => {
  assert.is(await env.c.ok(['history', '-q', 'busybox']), `${short(env.tiny.configDigest)}\n<missing>\n`);
  assert.is(await env.c.ok(['history', '-q', '--no-trunc', 'busybox']), `${env.tiny.configDigest}\n<missing>\n`);
  assert.is(
    await env.c.ok(['history', '--format', 'table {{.ID}}\t{{.CreatedAt}}\t{{.Tags}}', 'busybox']),
    `IMAGE          CREATED AT             TAGS\n${short(env.tiny.configDigest)}   ${AT}   [busybox:latest]\n<missing>      ${AT}   []\n`,
  );
  const json = (await env.c.ok(['history', '--format', 'json', 'busybox'])).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.is(json.length, 2);
  assert.equal(json[0], {
    ID: short(env.tiny.configDigest),
    Created: timeAgo(AT),
    CreatedSince: timeAgo(AT),
    CreatedAt: AT,
    CreatedBy: 'CMD ["sh"]',
    Size: '0B',
    Comment: '',
    Tags: ['busybox:latest'],
  });
});

test('history of an image whose config has no history: one entry per layer, the top one with the ID', async () => {
  const name = `${env.c.registry.host}/test/nohist`;
  assert.is(
    await env.c.ok(['history', '-H=false', '--format', '{{.ID}} {{.Created}} {{.Size}} [{{.CreatedBy}}]', name]),
    `${short(env.nohist.id)} ${AT} ${env.nohist.sizes[1]} []\n<missing> ${AT} ${env.nohist.sizes[0]} []\n`,
  );
});

test('history: bad input is one line, exit 125', async () => {
  assertOneError(await env.c.tspod(['history', 'nosuch']), /no such image: nosuch/);
  assertOneError(await env.c.tspod(['history']), /Missing 1 required arg/);
  assertOneError(await env.c.tspod(['history', '--format', '{{.ID', 'busybox']), /template: invalid format/);
  assertOneError(await env.c.tspod(['history', '-H=maybe', 'busybox']), /see 'tspod history --help'/);
});

test.run();
