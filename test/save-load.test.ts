/**
 * save and load end to end through the CLI: each format's round trip keeps the image ID (and for
 * OCI the manifest digest), several images in one archive, stdout and stdin, gzip and zstd
 * archives, bad archives (truncated, not an archive, path escapes, missing or tampered members)
 * refused with one line and nothing stored, and archives exchanged with Podman both ways.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN, makeStore, run, type RunResult, type TestStore } from './harness/cli.js';
import { startRegistry, type TestRegistry } from './harness/registry.js';
import { assertOk, assertOneError, readState, snapshot } from './harness/store-checks.js';
import { compress, multilayerImage, readTar, tarball, tinyImage, type FixtureImage, type TarEntry } from './fixtures/images.js';
import { seedRegistry } from './fixtures/seed.js';

const test = suite('save-load');

const env = {} as {
  registry: TestRegistry;
  store: TestStore;
  tiny: FixtureImage;
  multilayer: FixtureImage;
  dir: string;
};

const hex = (digest: string) => digest.slice('sha256:'.length);
const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const file = (name: string) => path.join(env.dir, name);

async function tspod(args: string[], opts?: { input?: string }): Promise<string> {
  const r = await env.store.tspod(args, opts);
  assertOk(r, `tspod ${args.join(' ')}`);
  return r.stdout;
}

/** tspod with stdin and/or stdout connected to files (binary archives never go through strings). */
function tspodFiles(args: string[], io: { stdin?: string; stdout?: string }): Promise<RunResult> {
  const stdin = io.stdin ? openSync(io.stdin, 'r') : 'ignore';
  const stdout = io.stdout ? openSync(io.stdout, 'w') : 'pipe';
  const child = spawn(process.execPath, ['--', BIN, '--root', env.store.root, '--runroot', env.store.runroot, ...args], {
    env: { ...process.env, XDG_CONFIG_HOME: path.dirname(env.store.configDir), TSPOD_REGISTRIES_CONF: path.join(env.store.configDir, 'registries.json') },
    stdio: [stdin, stdout, 'pipe'],
  });
  for (const fd of [stdin, stdout]) if (typeof fd === 'number') closeSync(fd);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: out, stderr: err }));
  });
}

function imageIds(): string[] {
  return readState(env.store).images.map((i) => i.id).sort();
}

function recordOf(id: string) {
  return readState(env.store).images.find((i) => i.id === id);
}

async function members(archive: string): Promise<Map<string, Buffer>> {
  return new Map((await readTar(readFileSync(archive))).map((e) => [e.header.name, e.content]));
}

/** Back to the images as pulled at the start (busybox and test/multilayer), nothing else. */
async function resetStore(): Promise<void> {
  const pulled = (id: string, manifestDigest: string) => recordOf(id)?.manifestDigest === manifestDigest;
  if (imageIds().length === 2 && pulled(env.tiny.configDigest, env.tiny.manifestDigest) && pulled(env.multilayer.configDigest, env.multilayer.manifestDigest)) return;
  if (imageIds().length) await tspod(['rmi', '-f', ...imageIds()]);
  for (const name of ['busybox', 'test/multilayer']) await tspod(['pull', '-q', name]);
}

test.before(async () => {
  env.registry = await startRegistry();
  await seedRegistry({ url: env.registry.url }, ['busybox', 'multilayer']);
  env.tiny = await tinyImage();
  env.multilayer = await multilayerImage();
  env.store = makeStore();
  env.store.registries({ registries: { 'docker.io': { mirrors: [env.registry.host] } } });
  env.dir = mkdtempSync(path.join(os.tmpdir(), 'tspod-save-load-'));
  for (const name of ['busybox', 'test/multilayer']) await tspod(['pull', '-q', name]);
});

test.after(async () => {
  await env.store?.cleanup();
  env.registry?.stop();
  if (env.dir) rmSync(env.dir, { recursive: true, force: true });
});

test('docker-archive (the default): Docker layout, and save; rmi; load gives the same image, tags and config', async () => {
  await resetStore();
  const archive = file('busybox.tar');
  assert.is(await tspod(['save', '-o', archive, 'busybox']), '');
  const m = await members(archive);
  const manifest = JSON.parse(m.get('manifest.json')!.toString());
  const layer = `${hex(env.tiny.layers[0]!.diffId)}/layer.tar`;
  assert.equal(manifest, [{ Config: `${hex(env.tiny.configDigest)}.json`, RepoTags: ['docker.io/library/busybox:latest'], Layers: [layer] }]);
  assert.equal(JSON.parse(m.get('repositories')!.toString()), { 'docker.io/library/busybox': { latest: hex(env.tiny.layers[0]!.diffId) } });
  assert.ok(m.get(`${hex(env.tiny.configDigest)}.json`)!.equals(env.tiny.configBlob), 'config bytes as pulled');
  assert.is(sha256(m.get(layer)!), env.tiny.layers[0]!.diffId, 'layer uncompressed: its digest is the diffID');
  assert.equal(readdirSync(env.dir).filter((f) => f.startsWith('.')), [], 'no temp file left');

  await tspod(['rmi', 'busybox']);
  assert.is(recordOf(env.tiny.configDigest), undefined);
  assert.is(await tspod(['load', '-i', archive]), 'Loaded image: busybox:latest\n');
  const record = recordOf(env.tiny.configDigest)!;
  assert.ok(record, 'same image ID after the round trip');
  assert.equal(record.names, ['docker.io/library/busybox:latest']);
  assert.is(await tspod(['image', 'inspect', '--format', '{{.Id}}', 'busybox']), `${env.tiny.configDigest}\n`);
  const stored = readFileSync(path.join(env.store.root, 'blobs', 'sha256', hex(env.tiny.configDigest)));
  assert.ok(stored.equals(env.tiny.configBlob), 'config (history included) kept byte for byte');
  assert.is((await env.store.tspod(['run', '--rm', 'busybox', 'cat', '/etc/group'])).stdout.split('\n')[0], 'root:x:0:', 'the loaded image runs');
});

test('image save / image load, by ID: no RepoTags, loads as an untagged image ("Loaded image ID")', async () => {
  await resetStore();
  const archive = file('by-id.tar');
  await tspod(['image', 'save', '-o', archive, hex(env.tiny.configDigest).slice(0, 12)]);
  const manifest = JSON.parse((await members(archive)).get('manifest.json')!.toString());
  assert.is(manifest[0].RepoTags, null);
  await tspod(['rmi', 'busybox']);
  assert.is(await tspod(['image', 'load', '-q', '-i', archive]), `Loaded image ID: ${env.tiny.configDigest}\n`);
  assert.equal(recordOf(env.tiny.configDigest)!.names, []);
});

test('oci-archive: blobs as stored, ref.name annotations; the round trip keeps the image ID and the manifest digest', async () => {
  await resetStore();
  const archive = file('oci.tar');
  const before = recordOf(env.multilayer.configDigest)!;
  await tspod(['save', '--format', 'oci-archive', '-o', archive, 'test/multilayer', 'busybox']);
  const m = await members(archive);
  assert.is(m.get('oci-layout')!.toString(), '{"imageLayoutVersion":"1.0.0"}');
  for (const [name, data] of m) if (name.startsWith('blobs/sha256/')) assert.is(sha256(data), `sha256:${name.slice('blobs/sha256/'.length)}`, name);
  const index = JSON.parse(m.get('index.json')!.toString());
  assert.equal(
    index.manifests.map((d: { digest: string; annotations: Record<string, string> }) => [d.digest, d.annotations['org.opencontainers.image.ref.name']]),
    [
      [env.multilayer.manifestDigest, 'docker.io/test/multilayer:latest'],
      [env.tiny.manifestDigest, 'docker.io/library/busybox:latest'],
    ],
  );
  for (const layer of env.multilayer.layers) assert.ok(m.get(`blobs/sha256/${hex(layer.digest)}`)!.equals(layer.data), 'compressed layer as pulled');

  await tspod(['rmi', 'busybox', 'test/multilayer']);
  assert.equal(imageIds(), []);
  const out = await tspod(['load', '-i', archive]);
  assert.is(out, 'Loaded image: test/multilayer:latest\nLoaded image: busybox:latest\n');
  const after = recordOf(env.multilayer.configDigest)!;
  assert.is(after.manifestDigest, before.manifestDigest);
  assert.is(after.manifestDigest, env.multilayer.manifestDigest);
  assert.is(recordOf(env.tiny.configDigest)!.manifestDigest, env.tiny.manifestDigest);
  assert.equal(after.layers, before.layers);
});

test('oci-dir: an OCI image layout directory; refused without -o and into a non-empty directory', async () => {
  await resetStore();
  const dir = file('layout');
  await tspod(['save', '--format', 'oci-dir', '-o', dir, 'busybox']);
  assert.equal(readdirSync(dir).sort(), ['blobs', 'index.json', 'oci-layout']);
  const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8'));
  assert.is(index.manifests[0].digest, env.tiny.manifestDigest);
  for (const blob of readdirSync(path.join(dir, 'blobs', 'sha256'))) {
    assert.is(sha256(readFileSync(path.join(dir, 'blobs', 'sha256', blob))), `sha256:${blob}`);
  }
  assertOneError(await env.store.tspod(['save', '--format', 'oci-dir', '-o', dir, 'busybox']), /already exists and is not empty/);
  assertOneError(await env.store.tspod(['save', '--format', 'oci-dir', 'busybox']), /needs a directory/);
});

test('several images in one docker-archive, to stdout, and back from stdin', async () => {
  await resetStore();
  const archive = file('both.tar');
  const r = await tspodFiles(['save', 'busybox', 'test/multilayer'], { stdout: archive });
  assertOk(r, 'save to stdout');
  const manifest = JSON.parse((await members(archive)).get('manifest.json')!.toString());
  assert.equal(
    manifest.map((e: { RepoTags: string[] }) => e.RepoTags),
    [['docker.io/library/busybox:latest'], ['docker.io/test/multilayer:latest']],
  );
  // The base layer the two share is in the archive once.
  const layerMembers = [...(await members(archive)).keys()].filter((n) => n.endsWith('/layer.tar'));
  assert.is(layerMembers.length, env.multilayer.layers.length);

  await tspod(['rmi', 'busybox', 'test/multilayer']);
  const loaded = await tspodFiles(['load'], { stdin: archive });
  assertOk(loaded, 'load from stdin');
  assert.is(loaded.stdout, 'Loaded image: busybox:latest\nLoaded image: test/multilayer:latest\n');
  assert.equal(imageIds(), [env.tiny.configDigest, env.multilayer.configDigest].sort());
});

test('save to a terminal is refused (Docker\'s message); -o into a missing directory fails and leaves nothing', async () => {
  const viaScript = run(['script', '-qec', `${process.execPath} -- ${BIN} --root ${env.store.root} --runroot ${env.store.runroot} save busybox`, '/dev/null']);
  const r = await viaScript;
  assert.is(r.code, 125);
  assert.match(r.stdout, /Error: cowardly refusing to save to a terminal: use the -o flag or redirect/);
  assertOneError(await env.store.tspod(['save', '-o', file('missing/x.tar'), 'busybox']), /cannot write .*x\.tar: its directory does not exist/);
  assertOneError(await env.store.tspod(['save', '-o', file('nothing.tar'), 'no-such-image']), /no such image: no-such-image/);
  assert.not.ok(existsSync(file('nothing.tar')));
  assert.equal(readdirSync(env.dir).filter((f) => f.startsWith('.')), []);
});

test('compressed archives: gzip from a file, zstd from stdin', async () => {
  await resetStore();
  const plain = file('plain.tar');
  await tspod(['save', '-o', plain, 'test/multilayer']);
  writeFileSync(file('a.tar.gz'), gzipSync(readFileSync(plain)));
  writeFileSync(file('a.tar.zst'), compress(readFileSync(plain), 'zstd'));
  await tspod(['rmi', 'test/multilayer']);
  assert.is(await tspod(['load', '-i', file('a.tar.gz')]), 'Loaded image: test/multilayer:latest\n');
  assert.ok(recordOf(env.multilayer.configDigest));
  await tspod(['rmi', 'test/multilayer']);
  const r = await tspodFiles(['load'], { stdin: file('a.tar.zst') });
  assertOk(r, 'load zstd from stdin');
  assert.ok(recordOf(env.multilayer.configDigest));
});

/** A docker-archive of busybox as entries, to tamper with. */
async function busyboxEntries(): Promise<TarEntry[]> {
  const archive = file('good.tar');
  await tspod(['save', '-o', archive, 'busybox']);
  return (await readTar(readFileSync(archive))).map((e) => ({ name: e.header.name, content: e.content, mode: e.header.mode }));
}

test('bad archives: one line, exit 125, nothing stored, no staging left', async () => {
  await resetStore();
  const good = await busyboxEntries();
  const goodBytes = await tarball(good);
  await tspod(['rmi', 'busybox']);
  const layerName = good.find((e) => e.name.endsWith('/layer.tar'))!.name;
  const configName = good.find((e) => e.name.endsWith('.json') && e.name !== 'manifest.json')!.name;
  const manifest = JSON.parse(good.find((e) => e.name === 'manifest.json')!.content!.toString());
  const otherLayer = Buffer.from(await tarball([{ name: 'evil', content: 'x' }]));
  const cases: Array<[string, Buffer, RegExp]> = [
    ['truncated', goodBytes.subarray(0, 1024 * 1024), /is truncated/],
    ['truncated gzip', gzipSync(goodBytes).subarray(0, 200_000), /is truncated/],
    ['not an archive', Buffer.from('this is not a tar archive\n'.repeat(100)), /is not a tar archive/],
    ['empty', Buffer.alloc(0), /is empty/],
    ['no manifest', await tarball([{ name: 'hello.txt', content: 'hi' }]), /neither a docker-archive nor an oci-archive/],
    ['dot-dot member', await tarball([...good, { name: '../escape', content: 'x' }]), /member "\.\.\/escape" points outside the archive/],
    ['absolute member', await tarball([{ name: '/etc/escape', content: 'x' }, ...good]), /member "\/etc\/escape" points outside the archive/],
    ['symlink escape', await tarball([...good, { name: 'link.tar', type: 'symlink', linkname: '../../etc/passwd' }]), /points outside the archive/],
    ['missing layer', await tarball(good.filter((e) => e.name !== layerName)), /is missing layer/],
    ['missing config', await tarball(good.filter((e) => e.name !== configName)), /is missing image config/],
    ['layer not the config\'s', await tarball(good.map((e) => (e.name === layerName ? { ...e, content: otherLayer } : e))), /layer 1 of image .* does not match its config/],
    ['config not its name', await tarball(good.map((e) => (e.name === configName ? { ...e, content: Buffer.concat([e.content as Buffer, Buffer.from(' ')]) } : e))), /does not match its digest/],
    ['manifest.json not JSON', await tarball(good.map((e) => (e.name === 'manifest.json' ? { ...e, content: 'nope' } : e))), /manifest\.json is not valid JSON/],
    ['layer path escape in manifest', await tarball(good.map((e) => (e.name === 'manifest.json' ? { ...e, content: JSON.stringify([{ ...manifest[0], Layers: ['../x/layer.tar'] }]) } : e))), /points outside the archive/],
    ['layer with an escaping entry', await tarball([
      ...good.filter((e) => e.name !== layerName && e.name !== 'manifest.json' && e.name !== configName),
      ...(await hostileImage()),
    ]), /\.\.|outside|escape/],
  ];
  const before = snapshot(env.store);
  for (const [what, data, error] of cases) {
    const archive = file(`bad-${what.replace(/\W+/g, '-')}.tar`);
    writeFileSync(archive, data);
    const r = await env.store.tspod(['load', '-i', archive]);
    try {
      assertOneError(r, error);
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`);
    }
    assert.equal(snapshot(env.store), before, `${what}: the store is unchanged`);
  }
  assertOneError(await env.store.tspod(['load', '-i', file('no-such.tar')]), /cannot open .*no-such\.tar: no such file/);
  assertOneError(await tspodFiles(['load'], { stdin: file('bad-truncated.tar') }), /the archive on stdin is truncated/);
  assert.equal(snapshot(env.store), before);
});

/** An image whose one layer holds "../outside": its config names the layer correctly, the sanitizer refuses it. */
async function hostileImage(): Promise<TarEntry[]> {
  const layer = await tarball([{ name: '../outside', content: 'x' }]);
  const diffID = sha256(layer);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffID] } }));
  return [
    { name: `${hex(diffID)}/layer.tar`, content: layer },
    { name: `${hex(sha256(config))}.json`, content: config },
    { name: 'manifest.json', content: JSON.stringify([{ Config: `${hex(sha256(config))}.json`, RepoTags: ['hostile:latest'], Layers: [`${hex(diffID)}/layer.tar`] }]) },
  ];
}

/** Podman with a throwaway store and configuration of its own, as whoever runs the tests. */
interface Podman {
  (args: string[]): RunResult;
  cleanup(): void;
}

function podmanMissing(): string | undefined {
  return spawnSync('podman', ['--version']).status === 0 ? undefined : 'podman is not installed';
}

function openPodman(): Podman {
  const base = mkdtempSync(path.join(os.tmpdir(), 'tspod-podman-'));
  const dirs = { root: path.join(base, 'root'), runroot: path.join(base, 'run'), xdg: path.join(base, 'xdg'), config: path.join(base, 'config') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dirs.config, 'registries.conf'), `[[registry]]\nlocation = "${env.registry.host}"\ninsecure = true\n`);
  writeFileSync(path.join(dirs.config, 'containers.conf'), '');
  writeFileSync(path.join(dirs.config, 'storage.conf'), `[storage]\ndriver = "vfs"\ngraphroot = "${dirs.root}"\nrunroot = "${dirs.runroot}"\n`);
  const podmanEnv = {
    ...process.env,
    XDG_RUNTIME_DIR: dirs.xdg,
    CONTAINERS_REGISTRIES_CONF: path.join(dirs.config, 'registries.conf'),
    CONTAINERS_CONF: path.join(dirs.config, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: path.join(dirs.config, 'storage.conf'),
  };
  const podman = ((args: string[]) => {
    const r = spawnSync('podman', ['--root', dirs.root, '--runroot', dirs.runroot, '--storage-driver', 'vfs', ...args], { env: podmanEnv, encoding: 'utf8' });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }) as Podman;
  podman.cleanup = () => {
    podman(['system', 'reset', '--force']);
    const pausePid = path.join(dirs.xdg, 'libpod', 'tmp', 'pause.pid');
    if (existsSync(pausePid)) {
      try {
        process.kill(Number(readFileSync(pausePid, 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(base, { recursive: true, force: true });
  };
  return podman;
}

function podmanOk(podman: Podman, args: string[]): string {
  const r = podman(args);
  assert.is(r.code, 0, `podman ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Runs `fn` with a fresh Podman, from the pulled images; skipped, saying why, without Podman. */
async function withPodman(fn: (podman: Podman) => Promise<void>): Promise<void> {
  const missing = podmanMissing();
  if (missing) {
    console.log(`skipped: ${missing}`);
    return;
  }
  await resetStore();
  const podman = openPodman();
  try {
    await fn(podman);
  } finally {
    podman.cleanup();
    await resetStore();
  }
}

test('Podman\'s archives (docker-archive, several images; oci-archive) load in tspod with the same IDs', () =>
  withPodman(async (podman) => {
    const busybox = `${env.registry.host}/library/busybox:latest`;
    const multilayer = `${env.registry.host}/test/multilayer:latest`;
    for (const name of [busybox, multilayer]) podmanOk(podman, ['pull', '-q', '--tls-verify=false', name]);
    const docker = file('podman-docker.tar');
    const oci = file('podman-oci.tar');
    podmanOk(podman, ['save', '-q', '-m', '-o', docker, busybox, multilayer]);
    podmanOk(podman, ['save', '-q', '--format', 'oci-archive', '-o', oci, busybox]);

    assert.is(await tspod(['load', '-i', docker]), `Loaded image: ${busybox}\nLoaded image: ${multilayer}\n`);
    assert.equal(recordOf(env.tiny.configDigest)!.names.sort(), [`docker.io/library/busybox:latest`, busybox].sort());
    assert.ok(recordOf(env.multilayer.configDigest)!.names.includes(multilayer));

    // Podman's oci-archive has an OCI config of its own making: that is the image's ID.
    const m = await members(oci);
    const index = JSON.parse(m.get('index.json')!.toString());
    const manifestDigest: string = index.manifests[0].digest;
    const configDigest: string = JSON.parse(m.get(`blobs/sha256/${hex(manifestDigest)}`)!.toString()).config.digest;
    // Gone with its layers (the base layer is multilayer's too), so the archive's blobs are kept.
    await tspod(['rmi', '-f', env.tiny.configDigest, env.multilayer.configDigest]);
    assert.is(await tspod(['load', '-i', oci]), `Loaded image: ${busybox}\n`);
    const record = readState(env.store).images.find((i) => i.names.includes(busybox))!;
    assert.is(record.id, configDigest);
    assert.is(record.manifestDigest, manifestDigest);
    podmanOk(podman, ['rmi', '-a', '-f']);
    podmanOk(podman, ['load', '-q', '-i', oci]);
    assert.is(podmanOk(podman, ['images', '-q', '--no-trunc']).trim(), configDigest, 'podman gives its own archive the same ID');
  }),
);

test('tspod\'s archives (docker-archive with several images; oci-archive) load in Podman with the same IDs and names', () =>
  withPodman(async (podman) => {
    const docker = file('tspod-docker.tar');
    const oci = file('tspod-oci.tar');
    await tspod(['save', '-o', docker, 'busybox', 'test/multilayer']);
    await tspod(['save', '--format', 'oci-archive', '-o', oci, 'test/multilayer']);
    podmanOk(podman, ['load', '-q', '-i', docker]);
    const listed = () =>
      podmanOk(podman, ['images', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'])
        .trim()
        .split('\n')
        .sort();
    assert.equal(listed(), [`${env.tiny.configDigest} docker.io/library/busybox:latest`, `${env.multilayer.configDigest} docker.io/test/multilayer:latest`].sort());
    podmanOk(podman, ['rmi', '-a', '-f']);
    podmanOk(podman, ['load', '-q', '-i', oci]);
    assert.equal(listed(), [`${env.multilayer.configDigest} docker.io/test/multilayer:latest`]);
    assert.is(podmanOk(podman, ['image', 'inspect', '--format', '{{.Digest}}', 'docker.io/test/multilayer:latest']).trim(), env.multilayer.manifestDigest);
  }),
);

test('save and load are recorded as events', async () => {
  const log = readFileSync(path.join(env.store.runroot, 'events', 'events.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(log.some((e) => e.type === 'image' && e.action === 'save' && e.id === env.tiny.configDigest && e.name === 'busybox:latest'));
  assert.ok(log.some((e) => e.type === 'image' && e.action === 'load' && e.id === env.multilayer.configDigest));
});

test.run();
