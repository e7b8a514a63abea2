/**
 * `cp` against a RUNNING container that attacks it (CVE-2018-15664, the docker cp race): a loop
 * in the container keeps swapping a directory for a symlink to an absolute path, while cp copies
 * into and out of that directory. A host directory at that very path holds canary files: had cp
 * followed the symlink on the host side at any moment, it would have created or changed a file
 * there, or copied a canary's content out. The race is probabilistic by nature: each round gives
 * the old path-string code many chances to lose it (large files keep it busy between its check and
 * its use), and the rounds are many enough that it lost every time we tried it.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openContainerEnv, until, type ContainerEnv } from './harness/container-env.js';
import { tspodRaw } from './harness/tar-io.js';

const test = suite('cp-race');
let env: ContainerEnv;
let host: string;
let canary: string;

const FILES = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6'];
const MARKER = 'HOST-CANARY-must-never-leave-the-host';
const OLD = new Date('2001-01-01T00:00:00Z');
const ROUNDS = 12;

/** Canary files at PATH/f* and PATH/sub/f*: what cp would meet on the host through the symlink. */
function plantCanaries(dir: string) {
  for (const sub of ['', 'sub']) {
    mkdirSync(path.join(dir, sub), { recursive: true });
    for (const f of FILES) {
      const p = path.join(dir, sub, f);
      writeFileSync(p, MARKER);
      chmodSync(p, 0o600);
      utimesSync(p, OLD, OLD);
    }
  }
}

/** Every file under `dir`, with what an escape would change: content, mode, mtime. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .sort()
    .map((name) => {
      const st = statSync(path.join(dir, name));
      return `${name} ${(st.mode & 0o7777).toString(8)} ${st.mtime.toISOString()} ${st.isFile() ? readFileSync(path.join(dir, name), 'utf8') : 'dir'}`;
    });
}

test.before(async () => {
  env = await openContainerEnv(['busybox']);
  host = mkdtempSync(path.join(os.tmpdir(), 'tspod-cprace-'));
  canary = mkdtempSync(path.join(os.tmpdir(), 'tspod-cprace-canary-'));
  plantCanaries(canary);
  const src = path.join(host, 'src');
  mkdirSync(src);
  // Large enough that copying one keeps cp busy while the container swaps the directory.
  for (const f of FILES) writeFileSync(path.join(src, f), 'x'.repeat(1 << 20), { mode: 0o644 });
  // The container has the same path as the canary directory, so that following the symlink
  // inside the container (the right thing) finds something and the copy goes on.
  const setup = [
    `mkdir -p /race/d/sub ${canary}/sub`,
    ...FILES.map((f) => `dd if=/dev/zero of=/race/d/${f} bs=1024 count=1024 2>/dev/null && echo inside > ${canary}/${f} && echo inside > ${canary}/sub/${f}`),
    'echo ready',
    `while true; do mv /race/d /race/d.tmp; ln -s ${canary} /race/d; rm /race/d; mv /race/d.tmp /race/d; done`,
  ].join(' && ');
  await env.ok(['run', '-d', '--name', 'racer', 'busybox', 'sh', '-c', setup]);
  await until('the racer swaps', async () => ((await env.ok(['logs', 'racer'])).includes('ready') ? true : undefined));
});

test.after(async () => {
  await env?.close();
  for (const dir of [host, canary]) if (dir) rmSync(dir, { recursive: true, force: true });
});

test('cp in and out while the container swaps the directory for a symlink: nothing escapes', async () => {
  const before = snapshot(canary);
  let copiedIn = 0;
  let copiedOut = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Into the swapped directory (its subdirectory is resolved for every entry), then out of it.
    const into = await env.tspod(['cp', `${path.join(host, 'src')}/.`, 'racer:/race/d/sub']);
    if (into.code === 0) copiedIn++;
    const out = await tspodRaw(env.store, ['cp', 'racer:/race/d', '-']);
    assert.not.ok(out.stdout.includes(MARKER), `round ${round}: a host file's content was copied out of the container`);
    if (out.code === 0) copiedOut++;
    assert.equal(snapshot(canary), before, `round ${round}: cp wrote to the host through the container's symlink`);
  }
  // Each direction must have worked at least once, or nothing was tested.
  assert.ok(copiedIn > 0, 'no cp into the container succeeded');
  assert.ok(copiedOut > 0, 'no cp out of the container succeeded');
});

test.run();
