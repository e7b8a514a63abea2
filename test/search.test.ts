/**
 * `search` end to end: a plain distribution registry is searched through its catalog (paginated:
 * more than one page of repositories), the TLS + htpasswd registry with credentials from an auth
 * file, Docker Hub's /v1/search API through a loopback stand-in (Docker Hub cannot run here),
 * columns, --limit, --filter, --format, --no-trunc, --list-tags, and bad input.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStore, type TestStore } from './harness/cli.js';
import { startRegistry, type TestRegistry } from './harness/registry.js';
import { assertOk, assertOneError } from './harness/store-checks.js';
import { pushImage } from './harness/push.js';
import { seedRegistry } from './fixtures/seed.js';

const test = suite('search');

const AUTH = { username: 'searcher', password: 'secret-pw' };
/** More repositories than one catalog page (100) holds. */
const PAGED_REPOS = 105;

const env = {} as {
  registry: TestRegistry;
  secure: TestRegistry;
  hub: { host: string; server: http.Server; queries: string[] };
  store: TestStore;
};

const HUB_RESULTS = [
  { name: 'busybox', description: 'Busybox base image.', star_count: 3200, is_official: true, is_automated: false },
  { name: 'someone/busybox-tools', description: 'Busybox with extra tools, built every night from the upstream sources\nsecond line', star_count: 7, is_official: false, is_automated: true },
  { name: 'other/busybox', description: '', star_count: 0, is_official: false, is_automated: false },
];

/** Docker Hub's search API as index.docker.io serves it: GET /v1/search?q=&n=. */
function startHub(): Promise<{ host: string; server: http.Server; queries: string[] }> {
  const queries: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://hub');
    if (url.pathname === '/v2/') {
      res.writeHead(200).end('{}');
      return;
    }
    if (url.pathname !== '/v1/search') {
      res.writeHead(404).end();
      return;
    }
    queries.push(url.search);
    const q = url.searchParams.get('q') ?? '';
    const results = HUB_RESULTS.filter((r) => r.name.includes(q)).slice(0, Number(url.searchParams.get('n') ?? 25));
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ num_results: results.length, query: q, results }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ host: `127.0.0.1:${(server.address() as AddressInfo).port}`, server, queries })));
}

async function tspod(args: string[], opts?: { env?: Record<string, string> }): Promise<string> {
  const r = await env.store.tspod(args, opts);
  assertOk(r, args.join(' '));
  assert.is(r.stderr, '', `stderr of ${args.join(' ')}`);
  return r.stdout;
}

/** A table's rows as cells, after checking its header. */
function table(out: string, header: string[]): string[][] {
  const lines = out.trimEnd().split('\n');
  assert.equal(lines[0]!.split(/ {2,}/), header);
  return lines.slice(1).map((l) => l.trimEnd().split(/ {2,}/));
}

test.before(async () => {
  env.registry = await startRegistry();
  await seedRegistry({ url: env.registry.url }, ['busybox', 'multilayer', 'multiarch']);
  const config = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } };
  const repos = Array.from({ length: PAGED_REPOS }, (_, i) => `paged/r${String(i).padStart(3, '0')}`);
  const pusher = async () => {
    for (let repo; (repo = repos.shift()); ) await pushImage({ url: env.registry.url }, repo, 'latest', { config, layers: [] });
  };
  await Promise.all(Array.from({ length: 8 }, pusher));
  env.secure = await startRegistry({ auth: AUTH });
  await seedRegistry({ url: env.secure.url, caFile: env.secure.caFile, auth: AUTH }, ['busybox']);
  env.hub = await startHub();
  env.store = makeStore();
  env.store.registries({ unqualifiedSearchRegistries: [env.registry.host] });
});

test.after(async () => {
  await env.store?.cleanup();
  env.registry?.stop();
  env.secure?.stop();
  env.hub?.server.close();
});

test('search TERM: the catalog of the search-order registry, Docker columns, names containing TERM', async () => {
  const rows = table(await tspod(['search', 'busy']), ['NAME', 'DESCRIPTION', 'STARS', 'OFFICIAL', 'AUTOMATED']);
  assert.equal(rows, [[`${env.registry.host}/library/busybox`, '0']]);
  const multi = table(await tspod(['search', 'multi']), ['NAME', 'DESCRIPTION', 'STARS', 'OFFICIAL', 'AUTOMATED']);
  assert.equal(multi.map((r) => r[0]), [`${env.registry.host}/test/multiarch`, `${env.registry.host}/test/multilayer`]);
  assert.equal(table(await tspod(['search', 'no-such-thing']), ['NAME', 'DESCRIPTION', 'STARS', 'OFFICIAL', 'AUTOMATED']), []);
});

test('search REGISTRY/TERM searches that registry; REGISTRY/ pages through the whole catalog; --limit', async () => {
  const names = (await tspod(['search', '--format', '{{.Name}}', `${env.registry.host}/paged/r1`])).split('\n').filter(Boolean);
  // r100..r104 come on the catalog's second page of 100.
  assert.equal(names, ['r100', 'r101', 'r102', 'r103', 'r104'].map((n) => `${env.registry.host}/paged/${n}`));
  const all = (await tspod(['search', '--limit', '100', '--format', '{{.Name}}', `${env.registry.host}/`])).split('\n').filter(Boolean);
  assert.is(all.length, 100, '--limit 100 caps the list');
  assert.is((await tspod(['search', '--limit', '2', '--format={{.Name}}', `${env.registry.host}/paged`])).split('\n').filter(Boolean).length, 2);
  const tail = (await tspod(['search', '--format', '{{.Name}}', `${env.registry.host}/r104`])).trim();
  assert.is(tail, `${env.registry.host}/paged/r104`, 'an entry of the second page is found');
});

test('search --format: Docker and Podman fields, table, json', async () => {
  const host = env.registry.host;
  assert.is(
    await tspod(['search', '--format', '{{.Index}}|{{.Name}}|{{.Stars}}|{{.StarCount}}|{{.Official}}|{{.IsOfficial}}|{{.Automated}}|{{.IsAutomated}}|{{.Description}}', 'busybox']),
    `${host}|${host}/library/busybox|0|0|||||\n`,
  );
  assert.is(await tspod(['search', '--format', 'table {{.Index}}\t{{.Name}}', 'busybox']), `INDEX${' '.repeat(host.length - 2)}NAME\n${host}   ${host}/library/busybox\n`);
  const json = JSON.parse(await tspod(['search', '--format', 'json', 'busybox'])) as Record<string, unknown>;
  assert.is(json.Name, `${host}/library/busybox`);
  assert.is(json.Stars, 0);
  assertOneError(await env.store.tspod(['search', '--format', '{{.Nope', 'busybox']), /template: invalid format/);
});

test('search --filter and --limit: checked before anything is asked', async () => {
  assert.is(await tspod(['search', '--filter', 'stars=1', '--format', '{{.Name}}', 'busybox']), '');
  assert.is(await tspod(['search', '--filter', 'is-official=true', '--format', '{{.Name}}', 'busybox']), '');
  assert.is(await tspod(['search', '-f', 'is-official=false', '-f', 'is-automated=false', '-f', 'stars=0', '--format', '{{.Name}}', 'busybox']), `${env.registry.host}/library/busybox\n`);
  assertOneError(await env.store.tspod(['search', '--filter', 'color=red', 'busybox']), /invalid filter 'color=red': supported filters: is-official=BOOL, is-automated=BOOL, stars=N/);
  assertOneError(await env.store.tspod(['search', '--filter', 'stars=many', 'busybox']), /invalid filter 'stars=many': stars takes a number/);
  assertOneError(await env.store.tspod(['search', '--filter', 'is-official=yes', 'busybox']), /invalid filter 'is-official=yes'/);
  assertOneError(await env.store.tspod(['search', '--limit', '0', 'busybox']), /limit 0 is outside the range of \[1, 100\]/);
  assertOneError(await env.store.tspod(['search', '--limit', '101', 'busybox']), /limit 101 is outside the range/);
  assertOneError(await env.store.tspod(['search']), /Missing 1 required arg/);
});

test("search with Docker Hub's /v1/search API: stars, [OK], descriptions cut at 45 characters unless --no-trunc", async () => {
  const hub = env.hub.host;
  const rows = table(await tspod(['search', `${hub}/busybox`]), ['NAME', 'DESCRIPTION', 'STARS', 'OFFICIAL', 'AUTOMATED']);
  assert.equal(rows, [
    [`${hub}/busybox`, 'Busybox base image.', '3200', '[OK]'],
    [`${hub}/someone/busybox-tools`, 'Busybox with extra tools, built every night …', '7', '[OK]'],
    [`${hub}/other/busybox`, '0'],
  ]);
  assert.is(rows[1]![1]!.length, 45);
  assert.is(env.hub.queries.at(-1), '?q=busybox&n=25');
  const full = await tspod(['search', '--no-trunc', '--format', '{{.Description}}', '--filter', 'is-automated=true', `${hub}/busybox`]);
  assert.is(full, `${HUB_RESULTS[1]!.description}\n`);
  assert.is(await tspod(['search', '--filter', 'stars=10', '--format', '{{.Name}} {{.IsOfficial}}', `${hub}/busybox`]), `${hub}/busybox [OK]\n`);
  await tspod(['search', '--limit', '2', `${hub}/busybox`]);
  assert.is(env.hub.queries.at(-1), '?q=busybox&n=2');
});

test('search a TLS + htpasswd registry: credentials from --authfile, CA from certs.d or --tls-verify=false', async () => {
  const host = env.secure.host;
  const authfile = path.join(env.store.configDir, 'search-auth.json');
  writeFileSync(authfile, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64') } } }));
  assertOneError(await env.store.tspod(['search', `${host}/busy`]), /TLS certificate of registry .* is not trusted/);
  assertOneError(await env.store.tspod(['search', '--tls-verify=false', `${host}/busy`]), new RegExp(`authentication required for the catalog of ${host}`));
  const out = await tspod(['search', '--tls-verify=false', '--authfile', authfile, '--format', '{{.Name}}', `${host}/busy`]);
  assert.is(out, `${host}/library/busybox\n`);
  const certDir = path.join(env.store.configDir, 'ca');
  mkdirSync(certDir, { recursive: true });
  copyFileSync(env.secure.caFile!, path.join(certDir, 'ca.crt'));
  assert.is(await tspod(['search', '--cert-dir', certDir, '--authfile', authfile, '--format', '{{.Name}}', `${host}/busy`]), out);
  const wrong = path.join(env.store.configDir, 'wrong-auth.json');
  writeFileSync(wrong, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${AUTH.username}:nope`).toString('base64') } } }));
  assertOneError(await env.store.tspod(['search', '--tls-verify=false', '--authfile', wrong, `${host}/busy`]), new RegExp(`invalid username or password for ${host}`));
});

test('search --list-tags REPOSITORY: NAME TAG, --limit, bad input', async () => {
  const host = env.registry.host;
  assert.equal(table(await tspod(['search', '--list-tags', `${host}/library/busybox`]), ['NAME', 'TAG']), [[`${host}/library/busybox`, 'latest']]);
  assert.is(await tspod(['search', '--list-tags', '--format', '{{.Name}}:{{.Tag}}', 'test/multiarch']), `${host}/test/multiarch:latest\n`);
  assertOneError(await env.store.tspod(['search', '--list-tags', `${host}/library/busybox:latest`]), /--list-tags takes a repository without tag or digest/);
  assertOneError(await env.store.tspod(['search', '--list-tags', `${host}/no/such`]), new RegExp(`${host}/no/such not found`));
});

test('search: an unreachable registry is one line, exit 125; with several registries the others still answer', async () => {
  assertOneError(await env.store.tspod(['search', '127.0.0.1:1/busybox']), /cannot reach registry 127\.0\.0\.1:1: connection refused/);
  env.store.registries({ unqualifiedSearchRegistries: ['127.0.0.1:1', env.registry.host] });
  try {
    const r = await env.store.tspod(['search', '--format', '{{.Name}}', 'busybox']);
    assertOk(r, 'search with one registry down');
    assert.is(r.stdout, `${env.registry.host}/library/busybox\n`);
    assert.is(r.stderr, 'Warning: cannot reach registry 127.0.0.1:1: connection refused\n');
    env.store.registries({ unqualifiedSearchRegistries: ['127.0.0.1:1'] });
    assertOneError(await env.store.tspod(['search', 'busybox']), /cannot reach registry 127\.0\.0\.1:1/);
    env.store.registries({ unqualifiedSearchRegistries: [env.registry.host], registries: { [env.registry.host]: { blocked: true } } });
    assertOneError(await env.store.tspod(['search', 'busybox']), /registry .* is blocked in registries.json/);
  } finally {
    env.store.registries({ unqualifiedSearchRegistries: [env.registry.host] });
  }
});

test.run();
