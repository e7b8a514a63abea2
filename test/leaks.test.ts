/**
 * Nothing accumulates: many `run --rm busybox true` in a row, a failed run, and a detached
 * container removed with rm -f leave the store as they found it: no mounts (root: ours; rootless:
 * the pause process's mount namespace, where container rootfs live), no conmon, slirp4netns,
 * pasta or container processes, no files under RUNROOT/containers, RUNROOT/runtime and
 * ROOT/containers, no store lock.
 *
 * Processes and mounts are told apart by what they refer to (the test store's directory in their
 * command line, open files, working directory or mount point): other tests, and other tspod
 * users, may run containers on the same machine at the same time.
 */
import { readdirSync, readFileSync, readlinkSync, existsSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { joinUserNamespace } from '../src/namespaces/userns.js';
import { openContainerEnv, until, type ContainerEnv } from './harness/container-env.js';

const test = suite('leaks');
let env: ContainerEnv;
let base: string;

/**
 * 100 runs take about 2.5 minutes per pass on this project's 2-core machines with other work
 * running (1.3 s per run at a load of 7; twice that at a load of 14). TSPOD_LEAK_RUNS sets
 * another count (a leak shows after a few runs already; 100 shows a slow one).
 */
const RUNS = Number(process.env.TSPOD_LEAK_RUNS ?? 100);

test.before(async () => {
  env = await openContainerEnv(['busybox']);
  base = path.dirname(env.store.root);
});

test.after(async () => {
  await env?.close();
});

const HELPERS = new Set(['conmon', 'slirp4netns', 'pasta', 'passt', 'pasta.avx2', 'passt.avx2']);

function readlinkOr(link: string): string {
  try {
    return readlinkSync(link);
  } catch {
    return '';
  }
}

function readFileOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function listTree(dir: string, prefix = ''): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const rel = path.join(prefix, e.name);
    return e.isDirectory() && !e.isSymbolicLink() ? [rel + '/', ...listTree(path.join(dir, e.name), rel)] : [rel];
  });
}

interface Footprint {
  /** mount points under the test's directory */
  mounts: string[];
  /** all mounts of the pause process's namespace (rootless: it is ours alone) */
  pauseMounts: number;
  /** "comm: cmdline" of processes that refer to the test's directory */
  processes: string[];
  files: Record<string, string[]>;
  locked: boolean;
}

async function footprint(): Promise<Footprint> {
  const ns = await joinUserNamespace({ runroot: env.store.runroot });
  const mountinfo = (pid: number | 'self') => readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter(Boolean);
  const tables = [mountinfo('self'), ...(ns.pausePid ? [mountinfo(ns.pausePid)] : [])];
  const mounts = tables.flatMap((t) => t.map((l) => l.split(' ')[4]!).filter((m) => m.startsWith(base)));
  const processes: string[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || pid === ns.pausePid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [, comm, state] = /^\d+ \((.*)\) (\S)/s.exec(stat)!;
      if (state === 'Z') continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      let fds: string[] = [];
      try {
        fds = readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkOr(`/proc/${pid}/fd/${fd}`));
      } catch {
        // another user's process: only its command line tells
      }
      const refersToUs = [cmdline, readlinkOr(`/proc/${pid}/cwd`), readlinkOr(`/proc/${pid}/root`), ...fds].some((s) => s.includes(base));
      if (refersToUs) processes.push(`${comm}: ${cmdline}`);
      else if (HELPERS.has(comm) && cmdline.includes(base)) processes.push(`${comm}: ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  return {
    mounts: mounts.sort(),
    pauseMounts: ns.pausePid ? tables[1]!.length : 0,
    processes: processes.sort(),
    files: {
      'RUNROOT/containers': listTree(path.join(env.store.runroot, 'containers')),
      'RUNROOT/runtime': listTree(path.join(env.store.runroot, 'runtime')),
      'ROOT/containers': listTree(path.join(env.store.root, 'containers')),
    },
    locked: existsSync(path.join(env.store.root, 'store.lock.lock')),
  };
}

/** The footprint once the work done is finished (a helper may take a moment to go). */
async function settledFootprint(expected: Footprint): Promise<Footprint> {
  let last = await footprint();
  await until('the footprint is back where it started', async () => {
    last = await footprint();
    return JSON.stringify(last) === JSON.stringify(expected) ? true : undefined;
  }, 15_000).catch(() => undefined);
  return last;
}

test(`${RUNS} runs of run --rm busybox true in a row leave no mount, process, file or lock behind`, async () => {
  const before = await footprint();
  assert.equal(before.mounts, []);
  assert.equal(before.processes, []);
  assert.not.ok(before.locked);
  for (let i = 0; i < RUNS; i++) {
    const r = await env.tspod(['run', '--rm', 'busybox', 'true']);
    assert.is(r.code, 0, `run ${i + 1}: ${r.stderr}`);
  }
  assert.equal(await settledFootprint(before), before);
  assert.is(await env.ok(['ps', '-aq']), '');
});

test('a run whose command does not exist (127) and one that fails in the runtime leave nothing either', async () => {
  const before = await footprint();
  const missing = await env.tspod(['run', '--rm', 'busybox', '/no/such/program']);
  assert.is(missing.code, 127, missing.stderr);
  const kept = await env.tspod(['run', '--name', 'kept-failure', 'busybox', '/no/such/program']);
  assert.is(kept.code, 127, kept.stderr);
  assert.is(await env.ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']), 'kept-failure created\n');
  await env.ok(['rm', 'kept-failure']);
  assert.equal(await settledFootprint(before), before);
});

test('rm -f of a detached container: its mount, conmon, network helper, process, runtime and state dirs and the lock are gone', async () => {
  const before = await footprint();
  const id = (await env.ok(['run', '-d', 'busybox', 'sleep', '1000'])).trim();
  const [pid, conmonPid] = (await env.ok(['inspect', '-f', '{{.State.Pid}} {{.State.ConmonPid}}', id])).trim().split(' ').map(Number);
  // While it runs, all of it is there: what the check below looks for is real.
  const running = await footprint();
  assert.ok(running.mounts.includes(path.join(env.store.root, 'containers', id, 'merged')), running.mounts.join('\n'));
  const comms = running.processes.map((p) => p.split(':')[0]);
  assert.ok(comms.includes('conmon'), running.processes.join('\n'));
  // The container's own process lives in another mount namespace: known by its pid only.
  assert.is(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\x001000\x00');
  assert.ok(comms.some((c) => HELPERS.has(c) && c !== 'conmon'), `a network helper: ${running.processes.join('\n')}`);
  assert.ok(running.files['RUNROOT/runtime'].includes(`${id}/`));
  assert.ok(running.files['RUNROOT/containers'].includes(`${id}/`));
  assert.ok(running.files['ROOT/containers'].includes(`${id}/`));

  assert.is(await env.ok(['rm', '-f', id.slice(0, 12)]), `${id.slice(0, 12)}\n`);
  const after = await settledFootprint(before);
  assert.equal(after, before);
  assert.not.ok(readFileOr(`/proc/${pid}/cmdline`).startsWith('sleep\x001000'), 'the container process is gone');
  assert.not.ok(readFileOr(`/proc/${conmonPid}/cmdline`).includes(id), 'conmon is gone');
});

test.run();
