/**
 * The in-root resolver and the pinned tree walk/write of cp, driven directly on a scratch tree:
 * symlinks to /, to ../../.., absolute and relative, loops, `..` clamped at the root, and what
 * holding directories open buys: a directory swapped for a symlink after it was resolved (or
 * while it is walked) is never followed. Every test also checks that no descriptor is left open.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DirChain, resolveIn, type InRootPath } from '../src/core/path-in-root.js';
import { walkTree, writeTree, type TreeEntry } from '../src/core/cp/tree.js';
import { TspodError } from '../src/core/errors.js';

const test = suite('path-in-root');
let scratch: string;
/** A fake container root inside the scratch dir, and a directory outside it. */
let root: string;
let outside: string;

/** This process's descriptors open on something in the scratch tree (other suites' may come and go). */
const scratchFds = () =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(scratch);
    } catch {
      return false;
    }
  });

test.before.each(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'tspod-inroot-'));
  root = path.join(scratch, 'a', 'b', 'root');
  outside = path.join(scratch, 'outside');
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(path.join(root, 'data', 'sub'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(root, 'etc', 'passwd'), 'inside');
  writeFileSync(path.join(outside, 'passwd'), 'OUTSIDE');
  writeFileSync(path.join(root, 'data', 'f'), 'f');
  symlinkSync('/', path.join(root, 'data', 'rootlink'));
  symlinkSync('../../../../../../..', path.join(root, 'data', 'uplink'));
  symlinkSync('/etc', path.join(root, 'data', 'etclink'));
  symlinkSync('sub', path.join(root, 'data', 'rel'));
  symlinkSync('rel/../f', path.join(root, 'data', 'relup'));
  symlinkSync('loop2', path.join(root, 'data', 'loop1'));
  symlinkSync('loop1', path.join(root, 'data', 'loop2'));
  symlinkSync(outside, path.join(root, 'data', 'hostpath'));
});

test.after.each(() => {
  assert.equal(scratchFds(), [], 'no descriptor left open');
  rmSync(scratch, { recursive: true, force: true });
});

/** Where a resolution led, as the container sees it: the pinned directory's path plus the rest. */
function seen(found: InRootPath): string {
  const dir = readlinkSync(`/proc/self/fd/${found.dirs.fd}`);
  return path.posix.join('/', path.relative(root, dir), ...found.rest);
}

function resolved(p: string, followFinal = true): string {
  const top = DirChain.openRoot(root);
  try {
    const found = resolveIn(top, p, { followFinal });
    try {
      return seen(found);
    } finally {
      found.dirs.close();
    }
  } finally {
    top.close();
  }
}

test('paths resolve as the container sees them: links to /, ../../.., absolute and relative', () => {
  assert.is(resolved('/'), '/');
  assert.is(resolved('/data/f'), '/data/f');
  assert.is(resolved('data/sub/'), '/data/sub');
  assert.is(resolved('/data/rootlink'), '/');
  assert.is(resolved('/data/rootlink', false), '/data/rootlink', 'the link itself when the last one is not followed');
  assert.is(resolved('/data/rootlink/etc/passwd'), '/etc/passwd');
  assert.is(resolved('/data/uplink/etc/passwd'), '/etc/passwd');
  assert.is(resolved('/data/etclink/passwd'), '/etc/passwd');
  assert.is(resolved('/data/rel/x'), '/data/sub/x');
  assert.is(resolved('/data/relup'), '/data/f');
  assert.is(resolved('/data/hostpath/passwd'), `${outside}/passwd`, 'an absolute host path is taken inside the root');
});

test('".." never climbs above the root, and is lexical over missing entries (like Docker)', () => {
  assert.is(resolved('/../../../etc/passwd'), '/etc/passwd');
  assert.is(resolved('/data/../../..'), '/');
  assert.is(resolved('/data/rootlink/../..'), '/');
  assert.is(resolved('/no/such/../../data/f'), '/data/f');
  assert.is(resolved('/no/such/file'), '/no/such/file');
  assert.is(resolved('/data/f/under-a-file'), '/data/f/under-a-file');
});

test('a symlink loop is a clear error, and leaves nothing open', () => {
  const top = DirChain.openRoot(root);
  try {
    assert.throws(() => resolveIn(top, '/data/loop1/x'), (e: unknown) => e instanceof TspodError && /too many levels of symbolic links/.test(e.message));
  } finally {
    top.close();
  }
});

test('a resolved directory stays pinned when the container swaps it for a symlink', () => {
  const top = DirChain.openRoot(root);
  const found = resolveIn(top, '/data/sub');
  try {
    renameSync(path.join(root, 'data', 'sub'), path.join(root, 'data', 'moved'));
    symlinkSync(outside, path.join(root, 'data', 'sub'));
    writeFileSync(found.dirs.at('x'), 'written');
    assert.is(readFileSync(path.join(root, 'data', 'moved', 'x'), 'utf8'), 'written');
    assert.not.ok(existsSync(path.join(outside, 'x')));
  } finally {
    found.dirs.close();
    top.close();
  }
});

test('walkTree: a directory swapped for a symlink while it is walked is not followed', async () => {
  const top = DirChain.openRoot(root);
  try {
    const names: string[] = [];
    for await (const e of walkTree(top.fd, 'data', { topName: 'data' })) {
      names.push(e.name);
      // As soon as the walk has reached data/: the container swaps it for a link outside.
      if (e.name === 'data') {
        renameSync(path.join(root, 'data'), path.join(root, 'data.moved'));
        symlinkSync(outside, path.join(root, 'data'));
      }
      if (e.kind === 'file' && e.open) {
        const chunks: Buffer[] = [];
        for await (const c of await e.open()) chunks.push(c as Buffer);
        assert.is.not(Buffer.concat(chunks).toString(), 'OUTSIDE', `${e.name} was read from outside the root`);
      }
    }
    assert.not.ok(names.includes('data/passwd'), 'nothing is listed through the swapped-in symlink');
    assert.ok(names.includes('data/f') && names.includes('data/sub'), `the directory first reached is walked: ${names.join(' ')}`);
  } finally {
    top.close();
  }
});

test('writeTree: files, directories, symlinks and hardlinks, all inside the root', async () => {
  const src = path.join(scratch, 'src');
  mkdirSync(path.join(src, 'dir'), { recursive: true });
  writeFileSync(path.join(src, 'dir', 'file'), 'content');
  symlinkSync('/etc/passwd', path.join(src, 'dir', 'link'));
  const srcTop = DirChain.openRoot(src);
  const top = DirChain.openRoot(root);
  const dest = resolveIn(top, '/data/rootlink/data/sub');
  try {
    await writeTree(dest.dirs, walkTree(srcTop.fd, 'dir', { topName: 'copy' }), { keepOwners: false });
    const entries = [
      { name: 'copy/hard', kind: 'hardlink', mode: 0o644, uid: 0, gid: 0, mtime: new Date(), linkname: 'copy/file', size: 0 },
      // A hardlink's source is resolved inside the root too: this one means the root's /etc/passwd.
      { name: 'copy/escape', kind: 'hardlink', mode: 0o644, uid: 0, gid: 0, mtime: new Date(), linkname: '../../../../../../../etc/passwd', size: 0 },
    ] satisfies TreeEntry[];
    await writeTree(dest.dirs, (async function* () {
      yield* entries;
    })(), { keepOwners: false });
  } finally {
    dest.dirs.close();
    top.close();
    srcTop.close();
  }
  const copy = path.join(root, 'data', 'sub', 'copy');
  assert.is(readFileSync(path.join(copy, 'file'), 'utf8'), 'content');
  assert.is(readlinkSync(path.join(copy, 'link')), '/etc/passwd');
  assert.is(readFileSync(path.join(copy, 'hard'), 'utf8'), 'content');
  assert.is(readFileSync(path.join(copy, 'escape'), 'utf8'), 'inside');
});

test.run();
