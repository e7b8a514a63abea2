/**
 * `cp` through the CLI: both directions, Docker's path rules (dest exists or not, trailing "/"
 * and "/."), `-` tar streams, -a, -L, running and stopped containers, bad input, and the classic
 * escapes: symlinks in the container pointing to / or ../../ on the read and on the write side,
 * and tar streams on stdin with "..", absolute names and a symlink-then-file trick.
 */
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import tar from 'tar-stream';
import { BIN } from './harness/cli.js';
import { openContainerEnv, until, type ContainerEnv } from './harness/container-env.js';
import { pausePid } from './harness/run-env.js';
import { assertOneError } from './harness/store-checks.js';
import { readTar, tspodRaw as rawIn } from './harness/tar-io.js';

const test = suite('cp');
let env: ContainerEnv;
let host: string;
const mine = process.getuid!();

/** Sets up /data in a container: files, a uid-1000 file, and links to /, to ../../../.. and to /etc. */
const SETUP = [
  'mkdir -p /data/sub /data/tgt /data/empty',
  'echo container-file > /data/f',
  'echo deep > /data/sub/deep',
  'echo owned > /data/owned && chown 1000:1000 /data/owned',
  'echo container-marker > /etc/cp-marker',
  'ln -s / /data/rootlink',
  'ln -s ../../../../../../ /data/uplink',
  'ln -s /etc /data/etclink',
  'ln -s / /data/tgt/sub',
].join(' && ');

test.before(async () => {
  env = await openContainerEnv(['busybox']);
  host = mkdtempSync(path.join(os.tmpdir(), 'tspod-cp-'));
  await env.ok(['run', '--name', 'stopped', 'busybox', 'sh', '-c', SETUP]);
  await env.ok(['run', '-d', '--name', 'live', 'busybox', 'sh', '-c', `${SETUP} && echo ready && exec sleep 1000`]);
  await until('live is set up', async () => ((await env.ok(['logs', 'live'])).includes('ready') ? true : undefined));
});

test.after(async () => {
  await env?.close();
  if (host) rmSync(host, { recursive: true, force: true });
});

interface TarItem {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  content?: string;
  linkname?: string;
  uid?: number;
}

async function makeTar(items: TarItem[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const i of items) pack.entry({ name: i.name, type: i.type ?? 'file', linkname: i.linkname, uid: i.uid ?? 0, gid: i.uid ?? 0, mode: i.type === 'directory' ? 0o755 : 0o644 }, i.content ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A file's content in a container, read back with cp to stdout; undefined when missing. */
async function containerFile(container: string, p: string): Promise<string | undefined> {
  const r = await rawIn(env.store, ['cp', `${container}:${p}`, '-']);
  if (r.code !== 0) return undefined;
  const entries = await readTar(r.stdout);
  return [...entries.values()][0]?.content;
}

const hostPath = (...parts: string[]) => path.join(host, ...parts);
const fresh = (name: string) => {
  const dir = hostPath(name);
  mkdirSync(dir, { recursive: true });
  return dir;
};

for (const c of ['live', 'stopped']) {
  // The stopped container runs the tests where mounting matters; the rest run once, on live.
  const once = c === 'live' ? test : test.skip;
  test(`${c}: a file out to a new path, into an existing directory, over an existing file`, async () => {
    const dir = fresh(`out-file-${c}`);
    await env.ok(['cp', `${c}:/data/f`, path.join(dir, 'new')]);
    assert.is(readFileSync(path.join(dir, 'new'), 'utf8'), 'container-file\n');
    await env.ok(['cp', `${c}:/data/f`, dir]);
    assert.is(readFileSync(path.join(dir, 'f'), 'utf8'), 'container-file\n');
    writeFileSync(path.join(dir, 'over'), 'old content that is longer');
    await env.ok(['cp', `${c}:data/f`, path.join(dir, 'over')]);
    assert.is(readFileSync(path.join(dir, 'over'), 'utf8'), 'container-file\n');
    assert.is(lstatSync(path.join(dir, 'new')).uid, mine, 'copied out: owned by the caller');
  });

  once(`${c}: directories out: new path, into an existing directory, contents with "/."`, async () => {
    const dir = fresh(`out-dir-${c}`);
    await env.ok(['cp', `${c}:/data/sub`, path.join(dir, 'created')]);
    assert.is(readFileSync(path.join(dir, 'created', 'deep'), 'utf8'), 'deep\n');
    await env.ok(['cp', `${c}:/data/sub`, dir]);
    assert.is(readFileSync(path.join(dir, 'sub', 'deep'), 'utf8'), 'deep\n');
    mkdirSync(path.join(dir, 'contents'));
    await env.ok(['cp', `${c}:/data/sub/.`, path.join(dir, 'contents')]);
    assert.is(readFileSync(path.join(dir, 'contents', 'deep'), 'utf8'), 'deep\n');
    assert.not.ok(existsSync(path.join(dir, 'contents', 'sub')));
    await env.ok(['cp', `${c}:/data`, path.join(dir, 'data')]);
    assert.is(readlinkSync(path.join(dir, 'data', 'rootlink')), '/', 'a symlink is copied as a symlink');
  });

  test(`${c}: files and directories in, owned by the container's root; -a keeps the owners`, async () => {
    const src = fresh(`in-${c}`);
    writeFileSync(path.join(src, 'file'), 'from-host');
    mkdirSync(path.join(src, 'tree', 'inner'), { recursive: true });
    writeFileSync(path.join(src, 'tree', 'inner', 'leaf'), 'leaf');
    await env.ok(['cp', path.join(src, 'file'), `${c}:/data/in-new`]);
    assert.is(await containerFile(c, '/data/in-new'), 'from-host');
    await env.ok(['cp', path.join(src, 'file'), `${c}:/data/empty`]);
    assert.is(await containerFile(c, '/data/empty/file'), 'from-host');
    writeFileSync(path.join(src, 'second'), 'second');
    await env.ok(['cp', path.join(src, 'second'), `${c}:/data/in-new`]);
    assert.is(await containerFile(c, '/data/in-new'), 'second');
    await env.ok(['cp', path.join(src, 'tree'), `${c}:/data/tree-new`]);
    assert.is(await containerFile(c, '/data/tree-new/inner/leaf'), 'leaf');
    await env.ok(['cp', path.join(src, 'tree'), `${c}:/data/empty/`]);
    assert.is(await containerFile(c, '/data/empty/tree/inner/leaf'), 'leaf');
    await env.ok(['cp', `${path.join(src, 'tree')}/.`, `${c}:/data/empty`]);
    assert.is(await containerFile(c, '/data/empty/inner/leaf'), 'leaf');
    const listing = await readTar((await rawIn(env.store, ['cp', `${c}:/data/tree-new`, '-'])).stdout);
    assert.is(listing.get('tree-new/inner/leaf')?.uid, 0, `owned by the container's root: ${JSON.stringify([...listing])}`);
    // -a out: the owner inside the container (1000) is kept on the host, mapped rootless.
    const dir = fresh(`archive-${c}`);
    await env.ok(['cp', '-a', `${c}:/data/owned`, path.join(dir, 'owned')]);
    const uid = lstatSync(path.join(dir, 'owned')).uid;
    if (mine === 0) assert.is(uid, 1000);
    else assert.is.not(uid, mine);
    await env.ok(['cp', `${c}:/data/owned`, path.join(dir, 'plain')]);
    assert.is(lstatSync(path.join(dir, 'plain')).uid, mine);
  });

  once(`${c}: "-" streams a tar out and extracts one in; -a keeps its owners`, async () => {
    const out = await rawIn(env.store, ['cp', `${c}:/data/sub`, '-']);
    assert.is(out.code, 0, out.stderr);
    const entries = await readTar(out.stdout);
    assert.equal([...entries.keys()].sort(), ['sub/', 'sub/deep']);
    const contents = await readTar((await rawIn(env.store, ['cp', `${c}:/data/sub/.`, '-'])).stdout);
    assert.equal([...contents.keys()], ['deep']);
    const input = await makeTar([
      { name: 'streamed/', type: 'directory' },
      { name: 'streamed/a', content: 'A', uid: 1234 },
    ]);
    const plain = await rawIn(env.store, ['cp', '-', `${c}:/data/empty`], input);
    assert.is(plain.code, 0, plain.stderr);
    assert.is((await readTar((await rawIn(env.store, ['cp', `${c}:/data/empty/streamed/a`, '-'])).stdout)).get('a')?.uid, 0);
    const archived = await rawIn(env.store, ['cp', '-a', '-', `${c}:/data/empty`], input);
    assert.is(archived.code, 0, archived.stderr);
    const a = (await readTar((await rawIn(env.store, ['cp', `${c}:/data/empty/streamed/a`, '-'])).stdout)).get('a');
    assert.is(a?.uid, 1234);
    assert.is(a?.content, 'A');
  });

  test(`${c}: reading through a link to / or ../../ stays in the container`, async () => {
    const dir = fresh(`read-escape-${c}`);
    for (const link of ['rootlink', 'uplink']) {
      await env.ok(['cp', `${c}:/data/${link}/etc/cp-marker`, path.join(dir, link)]);
      assert.is(readFileSync(path.join(dir, link), 'utf8'), 'container-marker\n', link);
      // The host's passwd has tspodci; the container's does not.
      await env.ok(['cp', `${c}:/data/${link}/etc/passwd`, path.join(dir, `${link}-passwd`)]);
      assert.not.match(readFileSync(path.join(dir, `${link}-passwd`), 'utf8'), 'tspodci');
    }
    await env.ok(['cp', '-L', `${c}:/data/etclink`, path.join(dir, 'etc')]);
    assert.is(readFileSync(path.join(dir, 'etc', 'cp-marker'), 'utf8'), 'container-marker\n', '-L follows the link inside the container');
    await env.ok(['cp', `${c}:/data/etclink`, path.join(dir, 'etclink')]);
    assert.is(readlinkSync(path.join(dir, 'etclink')), '/etc', 'without -L the link itself');
    const r = await env.tspod(['cp', `${c}:/data/uplink/../../${path.basename(host)}/x`, path.join(dir, 'nothing')]);
    assertOneError(r, /could not find the file/);
  });

  test(`${c}: writing through a link to / or ../../ stays in the container`, async () => {
    const src = fresh(`write-escape-${c}`);
    const name = `tspod-cp-escape-${c}-${process.pid}`;
    writeFileSync(path.join(src, name), 'escaped?');
    for (const link of ['rootlink', 'uplink']) {
      await env.ok(['cp', path.join(src, name), `${c}:/data/${link}/tmp/`]);
      assert.is(await containerFile(c, `/tmp/${name}`), 'escaped?');
      assert.not.ok(existsSync(`/tmp/${name}`), `${link}: nothing written to the host's /tmp`);
      await env.ok(['cp', path.join(src, name), `${c}:/data/${link}/`]);
      assert.is(await containerFile(c, `/${name}`), 'escaped?');
      assert.not.ok(existsSync(`/${name}`), `${link}: nothing written to the host's /`);
    }
    // A directory whose subdirectory meets a symlink to / in the destination.
    mkdirSync(path.join(src, 'tree', 'sub'), { recursive: true });
    writeFileSync(path.join(src, 'tree', 'sub', name), 'x');
    await env.ok(['cp', `${path.join(src, 'tree')}/.`, `${c}:/data/tgt`]);
    assert.not.ok(existsSync(`/${name}`));
    assert.is(await containerFile(c, `/data/tgt/sub/${name}`), 'x');
  });

  once(`${c}: tar streams with "..", absolute names or a symlink-then-file trick are refused`, async () => {
    const name = `tspod-cp-tar-${c}-${process.pid}`;
    const attempts: [TarItem[], RegExp][] = [
      [[{ name: `../../../../../../../tmp/${name}`, content: 'x' }], /escapes/],
      [[{ name: `/tmp/${name}`, content: 'x' }], /escapes|absolute/],
      [
        [
          { name: 'hop', type: 'symlink', linkname: '/tmp' },
          { name: `hop/${name}`, content: 'x' },
        ],
        /escapes .*symlink/,
      ],
      [
        [
          { name: 'up', type: 'symlink', linkname: '../../../../../../..' },
          { name: `up/tmp/${name}`, content: 'x' },
        ],
        /escapes .*symlink/,
      ],
    ];
    for (const [items, re] of attempts) {
      const r = await rawIn(env.store, ['cp', '-', `${c}:/data/empty`], await makeTar(items));
      assertOneError({ code: r.code, stdout: r.stdout.toString(), stderr: r.stderr }, re);
      assert.not.ok(existsSync(`/tmp/${name}`));
    }
    // Through a link the container already has: followed inside the container.
    const r = await rawIn(env.store, ['cp', '-', `${c}:/data`], await makeTar([{ name: `rootlink/tmp/${name}`, content: 'inside' }]));
    assert.is(r.code, 0, r.stderr);
    assert.not.ok(existsSync(`/tmp/${name}`));
    assert.is(await containerFile(c, `/tmp/${name}`), 'inside');
  });

  once(`${c}: path rule errors`, async () => {
    const src = fresh(`errors-${c}`);
    writeFileSync(path.join(src, 'file'), 'f');
    mkdirSync(path.join(src, 'dir'), { recursive: true });
    assertOneError(await env.tspod(['cp', `${c}:/nope`, src]), new RegExp(`could not find the file /nope in container ${c}`));
    assertOneError(await env.tspod(['cp', path.join(src, 'file'), `${c}:/no/such/dir/x`]), /could not find the directory \/no\/such\/dir in container/);
    assertOneError(await env.tspod(['cp', path.join(src, 'file'), `${c}:/data/missing-dir/`]), /destination directory .* does not exist/);
    assertOneError(await env.tspod(['cp', path.join(src, 'dir'), `${c}:/data/f`]), /cannot copy a directory to a file/);
    assertOneError(await env.tspod(['cp', `${c}:/data/f/`, src]), /not a directory/);
    assertOneError(await env.tspod(['cp', `${c}:/data/f`, path.join(src, 'missing', 'x')]), /no such directory/);
    assertOneError(await env.tspod(['cp', path.join(src, 'missing'), `${c}:/data`]), /no such file or directory/);
    assertOneError(await env.tspod(['cp', '-', `${c}:/data/f`]), /must be a directory/);
  });
}

test('a stopped or created container is unmounted again after cp, and keeps its state', async () => {
  await env.ok(['cp', 'stopped:/data/f', hostPath('unmount-check')]);
  const pid = mine === 0 ? 'self' : pausePid(env.store);
  if (pid !== undefined) {
    const mounts = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
    const id = (await env.ok(['inspect', '-f', '{{.Id}}', 'stopped'])).trim();
    assert.not.ok(mounts.includes(id), 'no mount of the stopped container left');
  }
  assert.is((await env.ok(['inspect', '-f', '{{.State.Status}}', 'stopped'])).trim(), 'exited');
  // A container that never ran has no mount of its own yet either.
  await env.ok(['create', '--name', 'fresh', 'busybox']);
  writeFileSync(hostPath('for-fresh'), 'fresh');
  await env.ok(['cp', hostPath('for-fresh'), 'fresh:/etc/']);
  assert.is(await containerFile('fresh', '/etc/for-fresh'), 'fresh');
  assert.is((await env.ok(['inspect', '-f', '{{.State.Status}}', 'fresh'])).trim(), 'created');
});

test('bad input: container not found, arguments without a container or with two', async () => {
  assertOneError(await env.tspod(['cp', 'nosuch:/etc/passwd', host]), /no such container: nosuch/);
  assertOneError(await env.tspod(['cp', host, 'nosuch:/tmp']), /no such container: nosuch/);
  assertOneError(await env.tspod(['cp', host, hostPath('x')]), /must specify at least one container/);
  assertOneError(await env.tspod(['cp', 'live:/a', 'stopped:/b']), /copying between containers is not supported/);
  assertOneError(await env.tspod(['cp', 'live:', host]), /invalid argument "live:"/);
  assertOneError(await env.tspod(['cp', 'live:/etc/passwd']), /destination|missing|required/i);
});

test('container cp and relative local paths', async () => {
  const dir = fresh('relative');
  symlinkSync('/nonexistent-target', path.join(dir, 'dangling'));
  const cwdRun = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--', BIN, '--root', env.store.root, '--runroot', env.store.runroot, 'container', 'cp', 'live:/data/f', './copied'], { cwd: dir, stdio: 'ignore' });
    child.on('close', (code) => resolve(code ?? -1));
  });
  assert.is(cwdRun, 0);
  assert.is(readFileSync(path.join(dir, 'copied'), 'utf8'), 'container-file\n');
  await env.ok(['cp', path.join(dir, 'dangling'), 'live:/data/dangling']);
  const entries = await readTar((await rawIn(env.store, ['cp', 'live:/data/dangling', '-'])).stdout);
  assert.is(entries.get('dangling')?.linkname, '/nonexistent-target');
});

test.run();
