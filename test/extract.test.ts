/**
 * Layer sanitizing and extraction for real: layers built here with tar-stream (and GNU tar) go
 * through sanitizeLayer into extractLayer, inside the user namespace when rootless. Checks
 * owners, modes, links, xattrs from inside and outside the namespace, whiteouts and opaque
 * directories through a real overlay mount, and that malicious layers write nothing outside.
 * As root, the whole file is also run as the test user.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, linkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TspodError } from '../src/core/errors.js';
import { sanitizeLayer } from '../src/core/layer-sanitize.js';
import { extractLayer, removeTree } from '../src/namespaces/extract.js';
import { joinUserNamespace, stopUserNamespace, type IdMapping, type NamespaceContext } from '../src/namespaces/userns.js';
import { isRoot, runTestFileAsTestUser, TEST_USER } from './harness/unprivileged.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tspod-extract-'));
const runroot = path.join(tmp, 'runroot');
const work = path.join(tmp, 'work');
const canary = path.join(work, 'canary');
let ns: NamespaceContext;
let layerCount = 0;

test.before(async () => {
  ns = await joinUserNamespace({ runroot });
  mkdirSync(canary, { recursive: true });
  writeFileSync(path.join(canary, 'secret'), 'secret');
});

test.after(async () => {
  try {
    if (ns) await removeTree(ns, work);
  } finally {
    await stopUserNamespace({ runroot });
    rmSync(tmp, { recursive: true, force: true });
  }
});

interface TarEntry {
  name: string;
  type?: 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';
  body?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

async function makeTar(entries: TarEntry[], patch?: { placeholder: string; bytes: Buffer }): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = { mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: new Date(1_600_000_000_000), ...e, type };
    await new Promise<void>((resolve, reject) => {
      const callback = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry(header, e.body ?? '', callback);
      else pack.entry(header, callback);
    });
  }
  pack.finalize();
  await done;
  const tar = Buffer.concat(chunks);
  if (patch) {
    // tar-stream writes pax values as UTF-8 text; binary ones are patched in (pax data has no checksum).
    const at = tar.indexOf(patch.placeholder);
    assert.ok(at > 0 && patch.bytes.length === patch.placeholder.length);
    patch.bytes.copy(tar, at);
  }
  return tar;
}

function newDest(): string {
  const dest = path.join(work, 'layers', String(++layerCount));
  mkdirSync(dest, { recursive: true });
  return dest;
}

async function extract(tar: Buffer, dest: string, digest = 'sha256:feed'): Promise<void> {
  const sanitized = sanitizeLayer({ digest, rootless: ns.rootless });
  Readable.from([tar]).pipe(sanitized);
  await extractLayer(ns, sanitized, dest);
}

function inNs(argv: string[]): string {
  const full = ns.wrap(argv);
  return execFileSync(full[0], full.slice(1), { encoding: 'utf8' });
}

interface StatIn {
  uid: number;
  gid: number;
  mode: string;
  type: string;
  links: number;
  mtime: number;
  dev: string;
  inode: number;
}

/** `stat` inside the namespace (the ids as the container sees them), one process for all files. */
function statIn(files: string[]): StatIn[] {
  return inNs(['stat', '-c', '%u|%g|%a|%F|%h|%Y|%t:%T|%i', ...files])
    .trim()
    .split('\n')
    .map((line) => {
      const [uid, gid, mode, type, links, mtime, dev, inode] = line.split('|');
      return { uid: Number(uid), gid: Number(gid), mode, type, links: Number(links), mtime: Number(mtime), dev, inode: Number(inode) };
    });
}

function toHost(mappings: IdMapping[], id: number): number {
  const m = mappings.find((m) => id >= m.containerID && id < m.containerID + m.size);
  assert.ok(m, `id ${id} is mapped`);
  return m!.hostID + id - m!.containerID;
}

/** xattrs of a file, read back through GNU tar inside the namespace (no getfattr needed). */
function xattrsOf(file: string): Map<string, Buffer> {
  const argv = ns.wrap(['tar', '--xattrs', '--xattrs-include=*', '--format=posix', '-cf', '-', '-C', path.dirname(file), path.basename(file)]);
  const tar = execFileSync(argv[0], argv.slice(1));
  const xattrs = new Map<string, Buffer>();
  if (String.fromCharCode(tar[156]) !== 'x') return xattrs;
  const size = parseInt(tar.toString('latin1', 124, 136).replace(/\0/g, ''), 8);
  const data = tar.subarray(512, 512 + size);
  for (let pos = 0; pos < data.length; ) {
    const space = data.indexOf(0x20, pos);
    const length = Number(data.toString('latin1', pos, space));
    const equals = data.indexOf(0x3d, space);
    const key = data.toString('latin1', space + 1, equals);
    if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), data.subarray(equals + 1, pos + length - 1));
    pos += length;
  }
  return xattrs;
}

async function rejects(promise: Promise<unknown>): Promise<TspodError> {
  try {
    await promise;
  } catch (e) {
    assert.instance(e, TspodError, String(e));
    return e as TspodError;
  }
  throw new Error('expected a TspodError, got success');
}

function canaryListing(): string {
  const secret = lstatSync(path.join(canary, 'secret'));
  return `${readdirSync(canary).sort().join(',')} nlink=${secret.nlink} mode=${secret.mode.toString(8)} ${readFileSync(path.join(canary, 'secret'), 'utf8')}`;
}

// security.capability v2: cap_setuid (7) and cap_net_raw (13) permitted and effective. The 0x80
// byte is what a UTF-8 round trip would corrupt.
const CAPABILITY = Buffer.from([0x01, 0, 0, 0x02, 0x80, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const CAP_PLACEHOLDER = 'C'.repeat(CAPABILITY.length);
const LONG_DIR = `deep/${'d'.repeat(90)}/${'e'.repeat(60)}`;
const LONG_TARGET = `../${'t'.repeat(120)}`;

test('an ownership-rich layer extracts with its owners, modes, links, times and xattrs', async () => {
  const mtime = new Date('2001-02-03T04:05:06Z');
  const tar = await makeTar(
    [
      { name: 'etc/', type: 'directory' },
      { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n', mtime },
      { name: 'etc/hard', type: 'link', linkname: 'etc/passwd' },
      { name: 'etc/link', type: 'symlink', linkname: 'passwd' },
      { name: 'home/', type: 'directory' },
      { name: 'home/user/', type: 'directory', mode: 0o700, uid: 1000, gid: 1000 },
      { name: 'home/user/notes', body: 'mine', mode: 0o640, uid: 1000, gid: 1000 },
      { name: 'home/user/up', type: 'symlink', linkname: '../../etc/passwd', uid: 1000, gid: 1000 },
      { name: 'var/', type: 'directory' },
      { name: 'var/nobody', body: 'x', mode: 0o600, uid: 65534, gid: 65534 },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
      { name: 'bin/', type: 'directory' },
      { name: 'bin/su', body: '#!', mode: 0o4755 },
      { name: 'bin/wall', body: '#!', mode: 0o2755, gid: 5 },
      { name: 'bin/ping', body: '#!', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': CAP_PLACEHOLDER } },
      {
        name: 'etc/attrs',
        body: 'x',
        pax: {
          'SCHILY.xattr.user.tspod': 'hello',
          'SCHILY.xattr.trusted.evil': 'x',
          'SCHILY.xattr.security.selinux': 'system_u:object_r:etc_t:s0',
          'SCHILY.xattr.user.overlay.redirect': '/elsewhere',
        },
      },
      { name: 'run/', type: 'directory' },
      { name: 'run/fifo', type: 'fifo', mode: 0o600 },
      { name: 'dev/', type: 'directory' },
      { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
      { name: 'dev/null2', type: 'link', linkname: 'dev/null' },
      { name: 'dev/sda', type: 'block-device', mode: 0o660, devmajor: 8, devminor: 0, gid: 6 },
      { name: `${LONG_DIR}/file`, body: 'long' },
      { name: 'deep/longlink', type: 'symlink', linkname: LONG_TARGET },
      { name: './dot/../normalized', body: 'n' },
    ],
    { placeholder: CAP_PLACEHOLDER, bytes: CAPABILITY },
  );
  const dest = newDest();
  await extract(tar, dest);
  const p = (name: string) => path.join(dest, name);

  const names = ['etc/passwd', 'etc/hard', 'home/user', 'home/user/notes', 'home/user/up', 'var/nobody', 'tmp', 'bin/su', 'bin/wall', 'run/fifo'];
  const st = Object.fromEntries(statIn(names.map(p)).map((s, i) => [names[i], s]));
  assert.equal(st['etc/passwd'], { ...st['etc/hard'], uid: 0, gid: 0, mode: '644', type: 'regular file', links: 2, mtime: mtime.getTime() / 1000 });
  assert.equal([st['home/user'].uid, st['home/user'].gid, st['home/user'].mode], [1000, 1000, '700']);
  assert.equal([st['home/user/notes'].uid, st['home/user/notes'].gid, st['home/user/notes'].mode], [1000, 1000, '640']);
  assert.equal([st['home/user/up'].uid, st['home/user/up'].type], [1000, 'symbolic link']);
  assert.equal([st['var/nobody'].uid, st['var/nobody'].gid], [65534, 65534]);
  assert.is(st.tmp.mode, '1777');
  assert.is(st['bin/su'].mode, '4755');
  assert.equal([st['bin/wall'].mode, st['bin/wall'].gid], ['2755', 5]);
  assert.is(st['run/fifo'].type, 'fifo');
  assert.equal(inNs(['readlink', p('etc/link'), p('home/user/up'), p('deep/longlink')]).trim().split('\n'), ['passwd', '../../etc/passwd', LONG_TARGET]);
  assert.is(readFileSync(p(`${LONG_DIR}/file`), 'utf8'), 'long');
  assert.is(readFileSync(p('normalized'), 'utf8'), 'n');
  assert.not.ok(existsSync(p('dot')));

  const attrs = xattrsOf(p('etc/attrs'));
  assert.equal([...attrs.keys()], ['user.tspod']);
  assert.is(attrs.get('user.tspod')!.toString(), 'hello');
  assert.equal(xattrsOf(p('bin/ping')).get('security.capability'), CAPABILITY, 'binary capability byte for byte');

  if (ns.rootless) {
    // Devices cannot be created in a user namespace: dropped, with the hardlink to one.
    assert.not.ok(existsSync(p('dev/null')));
    assert.not.ok(existsSync(p('dev/null2')));
    assert.not.ok(existsSync(p('dev/sda')));
  } else {
    const [devNull, sda] = statIn([p('dev/null'), p('dev/sda')]);
    assert.equal([devNull.type, devNull.dev, devNull.links], ['character special file', '1:3', 2]);
    assert.equal([sda.type, sda.dev, sda.gid], ['block special file', '8:0', 6]);
  }

  // From outside, the same files belong to the mapped (subordinate, when rootless) ids.
  for (const [name, uid, gid] of [
    ['etc/passwd', 0, 0],
    ['home/user', 1000, 1000],
    ['var/nobody', 65534, 65534],
    ['bin/wall', 0, 5],
  ] as const) {
    const st = lstatSync(p(name));
    assert.equal([st.uid, st.gid], [toHost(ns.uidMappings, uid), toHost(ns.gidMappings, gid)], name);
  }
  if (ns.rootless) assert.is(lstatSync(p('var/nobody')).uid, ns.uidMappings[1].hostID + 65533);
  assert.is(lstatSync(p('bin/su')).mode & 0o7777, 0o4755);
});

test('layers written by GNU tar (gnu, posix and ustar formats) come out identical to their source', async () => {
  const src = path.join(work, 'gnu-src');
  mkdirSync(path.join(src, LONG_DIR), { recursive: true });
  mkdirSync(path.join(src, `p/${'q'.repeat(99)}`), { recursive: true });
  writeFileSync(path.join(src, LONG_DIR, 'file'), 'a'.repeat(1000));
  writeFileSync(path.join(src, `p/${'q'.repeat(99)}/r`), 'prefix field');
  writeFileSync(path.join(src, 'big'), Buffer.alloc(300_000, 7));
  writeFileSync(path.join(src, 'empty'), '');
  linkSync(path.join(src, 'big'), path.join(src, 'big-link'));
  symlinkSync(LONG_TARGET, path.join(src, 'long-symlink'));
  symlinkSync('/abs/target', path.join(src, 'abs-symlink'));
  const listing = (dir: string) =>
    execFileSync('sh', ['-c', `cd "${dir}" && find . -mindepth 1 -printf '%P|%y|%m|%s|%l|%n\\n' | sort && find . -type f | sort | xargs md5sum`], {
      encoding: 'utf8',
    });
  const expected = listing(src);
  for (const format of ['gnu', 'posix', 'ustar']) {
    // ustar cannot hold the long names: it gets the prefix-field case only.
    const members = format === 'ustar' ? ['p', 'big', 'big-link', 'empty'] : ['.'];
    const tar = execFileSync('tar', [`--format=${format}`, '-cf', '-', '-C', src, ...members]);
    const dest = newDest();
    await extract(tar, dest);
    if (format === 'ustar') assert.is(readFileSync(path.join(dest, `p/${'q'.repeat(99)}/r`), 'utf8'), 'prefix field');
    else assert.fixture(listing(dest), expected, format);
  }
});

test('whiteouts and opaque directories become overlayfs ones and work in a real overlay mount', async () => {
  const lower = newDest();
  await extract(
    await makeTar([
      { name: 'd/', type: 'directory' },
      { name: 'd/gone', body: 'deleted above' },
      { name: 'd/kept', body: 'kept' },
      { name: 'o/', type: 'directory', mode: 0o750 },
      { name: 'o/hidden', body: 'hidden by opaque' },
      { name: 'o/sub/', type: 'directory' },
      { name: 'top', body: 'deleted above' },
      { name: 'late/', type: 'directory' },
      { name: 'late/old', body: 'hidden by opaque' },
    ]),
    lower,
  );
  const upper = newDest();
  await extract(
    await makeTar([
      { name: 'd/', type: 'directory' },
      { name: 'd/.wh.gone', uid: 1000 },
      { name: 'o/', type: 'directory', mode: 0o750 },
      { name: 'o/.wh..wh..opq' },
      { name: 'o/new', body: 'new' },
      { name: '.wh.top' },
      // The marker before its directory's own entry.
      { name: 'late/.wh..wh..opq' },
      { name: 'late/', type: 'directory', mode: 0o700 },
      { name: 'late/fresh', body: 'fresh' },
      { name: '.wh..wh.plnk/', type: 'directory' },
      { name: '.wh..wh.plnk/123', body: 'aufs' },
    ]),
    upper,
  );
  const [whiteout, top, o, late] = statIn(['d/gone', 'top', 'o', 'late'].map((n) => path.join(upper, n)));
  assert.equal([whiteout.type, whiteout.dev, whiteout.uid], ['character special file', '0:0', 1000]);
  assert.equal([top.type, top.dev], ['character special file', '0:0']);
  assert.is(o.mode, '750');
  assert.is(late.mode, '700');
  assert.is(xattrsOf(path.join(upper, 'o')).get('user.overlay.opaque')?.toString(), 'y');
  assert.is(xattrsOf(path.join(upper, 'late')).get('user.overlay.opaque')?.toString(), 'y');
  assert.not.ok(xattrsOf(path.join(upper, 'd')).has('user.overlay.opaque'));
  assert.not.ok(existsSync(path.join(upper, '.wh..wh.plnk')));
  assert.equal(readdirSync(upper).sort(), ['d', 'late', 'o', 'top']);

  const rw = path.join(work, 'overlay');
  for (const dir of ['upper', 'work', 'merged']) mkdirSync(path.join(rw, dir), { recursive: true });
  const script = [
    'set -e',
    `mount -t overlay overlay -o lowerdir=${upper}:${lower},upperdir=${rw}/upper,workdir=${rw}/work,userxattr ${rw}/merged`,
    `trap 'umount ${rw}/merged' EXIT`,
    `(cd ${rw}/merged && find . -mindepth 1 | sort)`,
  ].join('\n');
  // As root the mount gets a private mount namespace of its own; rootless, the pause process's.
  const argv = ns.rootless ? ns.wrap(['sh', '-c', script]) : ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script];
  const merged = execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' }).trim().split('\n');
  assert.equal(merged, ['./d', './d/kept', './late', './late/fresh', './o', './o/new']);
  assert.equal(readdirSync(path.join(rw, 'merged')), [], 'unmounted afterwards');
});

interface Malicious {
  what: string;
  entries: TarEntry[];
  /** the entry the error must name */
  entry: string;
  /** paths (outside dest) that must not exist afterwards */
  absent?: string[];
}

const MALICIOUS: Malicious[] = [
  { what: '".." out of the root', entries: [{ name: '../../canary/evil', body: 'x' }], entry: '../../canary/evil', absent: [path.join(canary, 'evil')] },
  { what: '".." out of the root, one level', entries: [{ name: '../evil', body: 'x' }], entry: '../evil', absent: [path.join(work, 'layers', 'evil')] },
  { what: '".." after a directory', entries: [{ name: 'a/../../evil', body: 'x' }], entry: 'a/../../evil' },
  { what: 'an absolute name', entries: [{ name: `${canary}/abs`, body: 'x' }], entry: `${canary}/abs`, absent: [path.join(canary, 'abs')] },
  {
    what: 'a symlink to / then a file through it',
    entries: [
      { name: 'a', type: 'symlink', linkname: '/' },
      { name: `a${canary}/x`, body: 'x' },
    ],
    entry: `a${canary}/x`,
    absent: [path.join(canary, 'x')],
  },
  {
    what: 'a symlink to ../.. then a file through it',
    entries: [
      { name: 'a', type: 'symlink', linkname: '../..' },
      { name: 'a/canary/x', body: 'x' },
    ],
    entry: 'a/canary/x',
    absent: [path.join(canary, 'x')],
  },
  {
    what: 'a chain of symlinks',
    entries: [
      { name: 'b', type: 'symlink', linkname: '../../canary' },
      { name: 'a', type: 'symlink', linkname: 'b' },
      { name: 'a/x', body: 'x' },
    ],
    entry: 'a/x',
    absent: [path.join(canary, 'x')],
  },
  {
    what: 'a directory entry over a symlink (its mode would land on the target)',
    entries: [
      { name: 'c', type: 'symlink', linkname: '../../canary' },
      { name: 'c/', type: 'directory', mode: 0o777 },
    ],
    entry: 'c/',
  },
  { what: 'a hardlink to ../../etc/passwd', entries: [{ name: 'h', type: 'link', linkname: '../../etc/passwd' }], entry: 'h' },
  { what: 'a hardlink to /etc/passwd', entries: [{ name: 'h', type: 'link', linkname: '/etc/passwd' }], entry: 'h' },
  { what: 'a hardlink into the canary', entries: [{ name: 'h', type: 'link', linkname: '../../canary/secret' }], entry: 'h' },
  {
    what: 'a hardlink through a symlink',
    entries: [
      { name: 's', type: 'symlink', linkname: '../../canary' },
      { name: 'h', type: 'link', linkname: 's/secret' },
    ],
    entry: 'h',
  },
  { what: 'a hardlink to a file not in the layer', entries: [{ name: 'h', type: 'link', linkname: 'etc/shadow' }], entry: 'h' },
];

for (const m of MALICIOUS) {
  test(`malicious layer: ${m.what} fails naming the entry, writes nothing outside, and can be removed`, async () => {
    const before = canaryListing();
    const passwd = lstatSync('/etc/passwd');
    const tar = await makeTar([{ name: 'ok/', type: 'directory' }, { name: 'ok/file', body: 'fine' }, ...m.entries, { name: 'after', body: 'x' }]);
    const dest = newDest();
    const e = await rejects(extract(tar, dest, 'sha256:bad1'));
    assert.ok(e.line.startsWith(`layer sha256:bad1: entry "${m.entry}" `), e.line);
    assert.not.match(e.line, /\n/);
    assert.is(canaryListing(), before);
    assert.is(lstatSync('/etc/passwd').nlink, passwd.nlink);
    for (const p of m.absent ?? []) assert.not.ok(existsSync(p), p);
    assert.not.ok(existsSync(path.join(dest, 'after')), 'extraction stopped at the bad entry');
    await removeTree(ns, dest);
    assert.not.ok(existsSync(dest));
  });
}

test('error messages: escaping names, broken and truncated tars', async () => {
  const dest = newDest();
  assert.is(
    (await rejects(extract(await makeTar([{ name: '../evil', body: 'x' }]), dest, 'sha256:abc'))).line,
    'layer sha256:abc: entry "../evil" escapes the layer root',
  );
  assert.is(
    (await rejects(extract(await makeTar([{ name: 'a', type: 'symlink', linkname: '/' }, { name: 'a/etc/x' }]), dest, 'sha256:abc'))).line,
    'layer sha256:abc: entry "a/etc/x" escapes the layer root through symlink "a"',
  );
  const good = await makeTar([{ name: 'file', body: 'x'.repeat(2000) }]);
  assert.is((await rejects(extract(good.subarray(0, 1024), dest, 'sha256:abc'))).line, 'layer sha256:abc: the layer tar is truncated');
  const garbled = Buffer.from(good);
  garbled[10] ^= 0xff;
  assert.is((await rejects(extract(garbled, dest, 'sha256:abc'))).line, 'layer sha256:abc: invalid tar header (bad checksum)');
  await removeTree(ns, dest);
});

test('ids beyond the subordinate ranges fail rootless with a hint; as root they are kept', async () => {
  const dest = newDest();
  const tar = await makeTar([{ name: 'far', body: 'x', uid: 70000, gid: 70000 }]);
  if (ns.rootless) {
    const e = await rejects(extract(tar, dest));
    assert.match(e.line, /^extracting a layer into .* failed \(tar: .*Cannot change ownership.*\): the layer uses uids\/gids outside the subordinate ranges/);
  } else {
    await extract(tar, dest);
    assert.is(lstatSync(path.join(dest, 'far')).uid, 70000);
  }
  await removeTree(ns, dest);
});

test('removeTree removes subordinate-owned, unwritable trees (and nothing else)', async () => {
  const dest = newDest();
  await extract(
    await makeTar([
      { name: 'ro/', type: 'directory', mode: 0o555, uid: 100 },
      { name: 'ro/locked', body: 'x', mode: 0o000, uid: 100 },
      { name: 'ro/sub/', type: 'directory', mode: 0o000, uid: 200 },
    ]),
    dest,
  );
  const keep = path.join(work, 'keep-me');
  writeFileSync(keep, 'k');
  if (ns.rootless) assert.throws(() => rmSync(path.join(dest, 'ro'), { recursive: true }), /EACCES|EPERM/);
  await removeTree(ns, dest);
  assert.not.ok(existsSync(dest));
  assert.ok(existsSync(keep));
  await removeTree(ns, path.join(work, 'never-existed'));
});

if (isRoot()) {
  test(`as ${TEST_USER}: this file's tests pass rootless`, () => {
    const result = runTestFileAsTestUser('extract');
    assert.is(result.code, 0, result.output);
    assert.match(result.output, /Passed:\s+\d+/, result.output);
  });
}

test.run();
