/**
 * `diff` (A/C/D from the overlay's upper dir: whiteouts, opaque directories, changed parents) and
 * `export` (the container's filesystem as a tar with relative names and container owners, to
 * stdout or atomically to -o FILE, never to a terminal), on running and stopped containers.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN } from './harness/cli.js';
import { openContainerEnv, until, type ContainerEnv } from './harness/container-env.js';
import { assertOneError } from './harness/store-checks.js';
import { readTar, tspodRaw as rawIn } from './harness/tar-io.js';

const test = suite('diff-export');
let env: ContainerEnv;
let host: string;

const CHANGES = [
  'echo new > /etc/new-file',
  'rm /etc/group',
  'chmod 600 /etc/passwd',
  'rm -rf /home && mkdir /home && echo x > /home/only',
  'mkdir -p /var/added/deep && echo f > /var/added/deep/f && chown 1000:1000 /var/added/deep/f',
].join(' && ');

const EXPECTED = [
  'C /etc',
  'D /etc/group',
  'A /etc/new-file',
  'C /etc/passwd',
  'C /home',
  'D /home/app',
  'A /home/only',
  'C /var',
  'A /var/added',
  'A /var/added/deep',
  'A /var/added/deep/f',
];

test.before(async () => {
  env = await openContainerEnv(['busybox']);
  host = mkdtempSync(path.join(os.tmpdir(), 'tspod-export-'));
  await env.ok(['run', '--name', 'stopped', 'busybox', 'sh', '-c', CHANGES]);
  await env.ok(['run', '-d', '--name', 'live', 'busybox', 'sh', '-c', `${CHANGES} && echo ready && exec sleep 1000`]);
  await until('live made its changes', async () => ((await env.ok(['logs', 'live'])).includes('ready') ? true : undefined));
});

test.after(async () => {
  await env?.close();
  if (host) rmSync(host, { recursive: true, force: true });
});

for (const c of ['stopped', 'live']) {
  test(`${c}: diff shows added, changed and deleted paths, whiteouts and opaque directories, sorted`, async () => {
    const out = await env.ok(['diff', c]);
    assert.equal(out.trim().split('\n'), EXPECTED, 'the runtime\'s mount points (/etc/hosts ...) are left out');
  });

  test(`${c}: export writes the filesystem as a tar with relative names and container owners`, async () => {
    const r = await rawIn(env.store, ['export', c]);
    assert.is(r.code, 0, r.stderr);
    const entries = await readTar(r.stdout);
    assert.ok(entries.has('bin/busybox'));
    assert.is(entries.get('bin/busybox')!.mode! & 0o777, 0o755);
    assert.is(entries.get('bin/sh')?.type, 'symlink');
    assert.is(entries.get('etc/new-file')?.content, 'new\n');
    assert.not.ok(entries.has('etc/group'), 'deleted in the container');
    assert.not.ok(entries.has('home/app/'), 'hidden by the opaque /home');
    assert.is(entries.get('etc/passwd')!.mode! & 0o777, 0o600);
    assert.is(entries.get('var/added/deep/f')?.uid, 1000);
    assert.is(entries.get('root/')?.mode! & 0o777, 0o700);
    assert.ok([...entries.keys()].every((n) => !n.startsWith('/') && !n.startsWith('./') && !n.split('/').includes('..')));
  });
}

test('export -o writes the file atomically; a failure leaves nothing behind', async () => {
  const file = path.join(host, 'stopped.tar');
  await env.ok(['container', 'export', '-o', file, 'stopped']);
  const entries = await readTar(readFileSync(file));
  assert.is(entries.get('home/only')?.content, 'x\n');
  assertOneError(await env.tspod(['export', '-o', path.join(host, 'missing.tar'), 'nosuch']), /no such container: nosuch/);
  assert.equal(readdirSync(host), ['stopped.tar']);
  assertOneError(await env.tspod(['export', '-o', path.join(host, 'no', 'dir.tar'), 'stopped']), /ENOENT|no such/i);
  assert.not.ok(existsSync(path.join(host, 'no')));
});

test('export refuses to write a tar to a terminal', async () => {
  const line = ['--', BIN, '--root', env.store.root, '--runroot', env.store.runroot, 'export', 'stopped'].map((w) => `'${w}'`).join(' ');
  const r = await new Promise<{ code: number; out: string }>((resolve) => {
    const child = spawn('script', ['-qec', `${process.execPath} ${line}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
    child.stdin.end();
  });
  assert.is(r.code, 125);
  assert.match(r.out, /cowardly refusing to save to a terminal/);
});

test('diff and export: bad input', async () => {
  assertOneError(await env.tspod(['diff', 'nosuch']), /no such container: nosuch/);
  assertOneError(await env.tspod(['container', 'diff', '--format', 'xml', 'live']), /invalid --format/);
  const json = JSON.parse(await env.ok(['container', 'diff', '--format', 'json', 'stopped'])) as Record<string, string[]>;
  assert.ok(json.deleted.includes('/etc/group'));
  assert.ok(json.added.includes('/etc/new-file'));
  assert.ok(json.changed.includes('/etc'));
});

test.run();
