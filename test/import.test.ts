/**
 * tspod import through the CLI: a root filesystem tar from a file (plain, gzip, zstd, xz), stdin
 * and a loopback http URL becomes a one-layer image that runs; -c, -m, --platform, names; the bad
 * inputs (text, empty, corrupt gzip, missing file, HTTP 404, path escapes) are one line, exit
 * 125, and store nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN, makeStore, run, type TestStore } from './harness/cli.js';
import { assertOneError, readState, snapshot } from './harness/store-checks.js';
import { compress, hostArch, sha256, tarball, tinyTar } from './fixtures/images.js';
import { hexOf } from '../src/store/image-store.js';

const test = suite('import');
let store: TestStore;
let dir: string;
let rootfs: Buffer;
let server: http.Server;
let baseUrl: string;

test.before(async () => {
  store = makeStore();
  dir = mkdtempSync(path.join(os.tmpdir(), 'tspod-import-'));
  execFileSync('chmod', ['755', dir]);
  rootfs = await tinyTar();
  writeFileSync(path.join(dir, 'rootfs.tar'), rootfs);
  writeFileSync(path.join(dir, 'rootfs.tar.gz'), compress(rootfs, 'gzip'));
  writeFileSync(path.join(dir, 'rootfs.tar.zst'), compress(rootfs, 'zstd'));
  writeFileSync(path.join(dir, 'rootfs.tar.xz'), execFileSync('xz', ['-c'], { input: rootfs, maxBuffer: 1 << 30 }));
  server = http.createServer((req, res) => {
    if (req.url === '/rootfs.tar.gz') res.end(readFileSync(path.join(dir, 'rootfs.tar.gz')));
    else if (req.url === '/moved') res.writeHead(302, { location: '/rootfs.tar.gz' }).end();
    else res.writeHead(404).end('not here');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.after(async () => {
  server?.close();
  await store?.tspod(['rm', '-af']);
  await store?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const ok = async (args: string[]) => {
  const r = await store.tspod(args);
  assert.is(r.code, 0, `tspod ${args.join(' ')} failed (exit ${r.code}): ${r.stderr}`);
  return r.stdout;
};

const importId = async (args: string[]) => {
  const out = (await ok(['import', ...args])).trim();
  assert.match(out, /^sha256:[0-9a-f]{64}$/);
  return out;
};

const configOf = (id: string) => JSON.parse(readFileSync(path.join(store.root, 'blobs', 'sha256', hexOf(id)), 'utf8'));
const imageOf = (id: string) => readState(store).images.find((i) => i.id === id)!;

test('a plain tar file: one layer, this host\'s platform, history and comment, a name; it runs', async () => {
  const file = path.join(dir, 'rootfs.tar');
  const id = await importId([file, 'imported:v1']);
  const config = configOf(id);
  assert.is(config.os, 'linux');
  assert.is(config.architecture, hostArch());
  assert.equal(config.rootfs.diff_ids, [sha256(rootfs)]);
  assert.is(config.history.length, 1);
  assert.match(config.history[0].created_by, /^\/bin\/sh -c #\(nop\) ADD file:[0-9a-f]{64} in \/ $/);
  assert.is(config.history[0].comment, `Imported from ${file}`);
  assert.ok(Date.now() - Date.parse(config.created) < 600_000, 'created now');
  assert.equal(imageOf(id).names, ['docker.io/library/imported:v1']);
  assert.equal(imageOf(id).layers, [sha256(rootfs)]);
  assert.is((await ok(['run', '--rm', 'imported:v1', 'cat', '/etc/group'])).split('\n')[0], 'root:x:0:');
});

test('gzip, zstd and xz archives give the same layer content; image import is the same command', async () => {
  for (const file of ['rootfs.tar.gz', 'rootfs.tar.zst', 'rootfs.tar.xz']) {
    const id = (await ok(['image', 'import', path.join(dir, file)])).trim();
    assert.equal(configOf(id).rootfs.diff_ids, [sha256(rootfs)], file);
    assert.equal(imageOf(id).names, [], 'unnamed: <none>');
  }
  assert.match(await ok(['images']), /<none>\s+<none>/);
});

test('stdin with -, -c and -m: the changes apply, the message is the comment; -q prints only the ID', async () => {
  const r = await run(['sh', '-c', `"$0" -- "$1" --root "$2" --runroot "$3" import -q -c 'CMD ["echo", "from", "stdin"]' -c 'ENV X=1' -m 'my message' - stdin-img < "$4"`, process.execPath, BIN, store.root, store.runroot, path.join(dir, 'rootfs.tar.gz')]);
  assert.is(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  const config = configOf(id);
  assert.is(config.history[0].comment, 'my message');
  assert.equal(config.config.Env, ['X=1']);
  assert.is((await ok(['run', '--rm', 'stdin-img'])).trim(), 'from stdin');
});

test('a loopback http URL (streamed, redirects followed); --platform is recorded', async () => {
  const id = await importId([`${baseUrl}/rootfs.tar.gz`, 'from-url']);
  assert.equal(configOf(id).rootfs.diff_ids, [sha256(rootfs)]);
  assert.is(configOf(id).history[0].comment, `Imported from ${baseUrl}/rootfs.tar.gz`);
  const arm = await importId(['--platform', 'linux/arm64', `${baseUrl}/moved`]);
  assert.is(configOf(arm).architecture, 'arm64');
  assert.is(configOf(arm).os, 'linux');
});

test('an import event is recorded', async () => {
  const id = await importId([path.join(dir, 'rootfs.tar'), 'evented']);
  const events = readFileSync(path.join(store.runroot, 'events', 'events.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const event = events.find((e) => e.action === 'import' && e.id === id);
  assert.ok(event);
  assert.is(event.type, 'image');
  assert.is(event.name, 'docker.io/library/evented:latest');
});

test('bad input: not a tar, empty, corrupt gzip, missing file, HTTP 404, path escapes, bad -c: one line, 125, nothing stored', async () => {
  const write = (name: string, data: Buffer | string) => {
    writeFileSync(path.join(dir, name), data);
    return path.join(dir, name);
  };
  const text = write('notes.txt', 'just some text, not an archive\n'.repeat(40));
  const empty = write('empty.tar', '');
  const gzText = write('text.gz', gzipSync(Buffer.from('plain text inside gzip\n'.repeat(40))));
  const gzEmpty = write('empty.gz', gzipSync(Buffer.alloc(0)));
  const corrupt = write('corrupt.tar.gz', Buffer.concat([compress(rootfs, 'gzip').subarray(0, 5000), Buffer.alloc(100, 7)]));
  const dotdot = write('dotdot.tar', await tarball([{ name: 'ok', content: 'fine' }, { name: '../x', content: 'escape' }]));
  const absolute = write('abs.tar', await tarball([{ name: '/abs', content: 'escape' }]));
  const symlinkEscape = write('symlink.tar', await tarball([{ name: 'link', type: 'symlink', linkname: '/' }, { name: 'link/etc/x', content: 'escape' }]));
  const before = snapshot(store);
  assertOneError(await store.tspod(['import', text, 'x']), /notes\.txt is not a tar archive/);
  assertOneError(await store.tspod(['import', empty, 'x']), /empty\.tar is empty/);
  assertOneError(await store.tspod(['import', gzText]), /text\.gz.*(invalid tar header|truncated)/);
  assertOneError(await store.tspod(['import', gzEmpty]), /empty\.gz holds no tar archive/);
  assertOneError(await store.tspod(['import', corrupt]), /corrupt\.tar\.gz/);
  assertOneError(await store.tspod(['import', path.join(dir, 'missing.tar')]), /missing\.tar: no such file/);
  assertOneError(await store.tspod(['import', `${baseUrl}/nothing.tar`]), /HTTP 404/);
  assertOneError(await store.tspod(['import', 'http://127.0.0.1:1/x.tar']), /cannot download/);
  assertOneError(await store.tspod(['import', dotdot]), /"\.\.\/x" escapes the layer root/);
  assertOneError(await store.tspod(['import', absolute]), /"\/abs" escapes the layer root/);
  assertOneError(await store.tspod(['import', symlinkEscape]), /escapes the layer root through symlink "link"/);
  assertOneError(await store.tspod(['import', '-c', 'MAINTAINER me', path.join(dir, 'rootfs.tar')]), /invalid --change/);
  assertOneError(await store.tspod(['import', '--platform', 'linux', path.join(dir, 'rootfs.tar')]), /invalid platform/);
  assert.equal(snapshot(store), before);
  const emptyStdin = await run(['sh', '-c', `"$0" -- "$1" --root "$2" --runroot "$3" import - < /dev/null`, process.execPath, BIN, store.root, store.runroot]);
  assertOneError(emptyStdin, /stdin is empty/);
  assert.equal(snapshot(store), before);
});

test.run();
