/**
 * How `tspod run` runs a container, end to end with busybox: -d (the ID, ps), -a stdout/stderr,
 * -i with piped stdin, --sig-proxy (and =false), --detach-keys, the restart policies as `run`
 * sets them (on-failure:N, always, unless-stopped) and --pull always|missing|never against a
 * registry whose tag moves.
 */
import type { ChildProcess } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { alive } from './harness/bundle.js';
import { pushImage } from './harness/push.js';
import { assertEmpty, assertNothingNew, leftovers, pausePid, startRunEnv, waitGone, type RunEnv } from './harness/run-env.js';
import { assertOk, assertOneError } from './harness/store-checks.js';
import { buildImage, DEFAULT_PATH, layerFromTar, tarball, tinyLayerGzip } from './fixtures/images.js';

const test = suite('run-modes');

let env: RunEnv;

test.before(async () => {
  env = await startRunEnv();
});

test.after(async () => {
  if (!env) return;
  const ids = (await env.tspod(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  if (ids.length) await env.tspod(['rm', '-f', ...ids]);
  assertEmpty(env.store);
  const pause = pausePid(env.store);
  await env.stop();
  assert.not.ok(alive(pause), 'the pause process is gone');
});

const tspod = (args: string[], opts?: { input?: string }) => env.tspod(args, opts);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inspect(names: string[], format: string): Promise<string[]> {
  const r = await tspod(['inspect', '-f', format, ...names]);
  assertOk(r, `inspect ${names.join(' ')}`);
  return r.stdout.trimEnd().split('\n');
}

/** A foreground `tspod run` and its output so far; resolves once stdout shows `text`. */
function runUntil(args: string[], text: string): { child: ChildProcess; out: () => string; seen: Promise<void>; exited: Promise<number | null> } {
  const child = env.spawnTspod(['run', ...args]);
  let out = '';
  child.stderr!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const seen = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes(text)) resolve();
    });
    void exited.then((code) => reject(new Error(`tspod run exited (${code}) before printing ${text}: ${out}`)));
  });
  return { child, out: () => out, seen, exited };
}

test('-d prints the 64-digit ID and returns; ps shows the container running; with --rm it is gone once it exits', async () => {
  const [r, removed] = await Promise.all([
    tspod(['run', '-d', '--name', 'background', 'busybox', 'sleep', '600']),
    tspod(['run', '-d', '--rm', 'busybox', 'sh', '-c', 'exit 0']),
  ]);
  assertOk(r, 'run -d');
  assertOk(removed, 'run -d --rm');
  assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
  assert.is(r.stderr, '');
  const id = r.stdout.trim();
  // conmon's exit command removes it: no tspod command has to look.
  await waitGone(env.store, [removed.stdout.trim()], 'run -d --rm');
  const ps = await tspod(['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Names}} {{.State}}']);
  assert.is(ps.stdout, `${id} background running\n`);
  assertOk(await tspod(['rm', '-f', 'background']), 'rm -f');
});

test('-a stdout and -a stderr attach only that stream; -i passes piped stdin, without -i the container gets none', async () => {
  const script = ['sh', '-c', 'echo to-out; echo to-err >&2'];
  const [out, err, both, stdin, noStdin] = await Promise.all([
    tspod(['run', '--rm', '-a', 'stdout', 'busybox', ...script]),
    tspod(['run', '--rm', '-a', 'STDERR', 'busybox', ...script]),
    tspod(['run', '--rm', '-a', 'stdout', '-a', 'stderr', 'busybox', ...script]),
    tspod(['run', '--rm', '-i', 'busybox', 'cat'], { input: 'hi\nthere\n' }),
    tspod(['run', '--rm', 'busybox', 'sh', '-c', 'cat; echo "cat ended: $?"'], { input: 'hi\n' }),
  ]);
  for (const r of [out, err, both, stdin, noStdin]) assertOk(r, 'run');
  assert.equal([out.stdout, out.stderr], ['to-out\n', '']);
  assert.equal([err.stdout, err.stderr], ['', 'to-err\n']);
  assert.equal([both.stdout, both.stderr], ['to-out\n', 'to-err\n']);
  assert.is(stdin.stdout, 'hi\nthere\n');
  assert.is(noStdin.stdout, 'cat ended: 0\n');
});

test('--sig-proxy: SIGTERM to a foreground run reaches the container (its trap exits 7, so does run); =false leaves it running', async () => {
  const trap = ['busybox', 'sh', '-c', 'trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.1; done'];
  const proxied = runUntil(['--rm', ...trap], 'ready');
  const unproxied = runUntil(['--name', 'unproxied', '--sig-proxy=false', ...trap], 'ready');
  await Promise.all([proxied.seen, unproxied.seen]);
  proxied.child.kill('SIGTERM');
  unproxied.child.kill('SIGTERM');
  assert.is(await proxied.exited, 7);
  assert.is(proxied.out(), 'ready\ngot TERM\n');
  await unproxied.exited;
  assert.is(unproxied.out(), 'ready\n');
  assert.equal(await inspect(['unproxied'], '{{.State.Status}}'), ['running']);
  assertOk(await tspod(['rm', '-f', 'unproxied']), 'rm -f');
});

test("--detach-keys with -i: the keys detach (run exits 0, not with the container's 3); Docker's default ctrl-p,ctrl-q", async () => {
  // Detaching closes the container's stdin (Docker's StdinOnce for run -i): cat ends and so does it.
  const script = ['busybox', 'sh', '-c', 'cat; echo cat ended; exit 3'];
  const [custom, standard, none] = await Promise.all([
    tspod(['run', '-i', '--name', 'detach1', '--detach-keys', 'ctrl-x,x', ...script], { input: 'typed\n\x18x' }),
    tspod(['run', '-i', '--name', 'detach2', ...script], { input: 'typed\n\x10\x11' }),
    tspod(['run', '-i', '--name', 'detach3', '--detach-keys', '', ...script], { input: 'typed\n\x10\x11' }),
  ]);
  assert.equal([custom.code, standard.code], [0, 0], custom.stderr + standard.stderr);
  assert.is(none.code, 3, 'no detach keys: the input is the container\'s');
  assert.is(none.stdout, 'typed\n\x10\x11cat ended\n');
  for (const name of ['detach1', 'detach2']) {
    assertOk(await tspod(['wait', name]), `wait ${name}`);
    assert.is((await tspod(['logs', name])).stdout, 'typed\ncat ended\n');
  }
  assertOk(await tspod(['rm', 'detach1', 'detach2', 'detach3']), 'rm');
});

test('--restart: on-failure:2 restarts twice then stays exited; always restarts after exit 0; unless-stopped after exit 1 but not after stop', async () => {
  // A second run finds the mark the first left in the container's own filesystem, and sleeps.
  const secondRunSleeps = (code: number) => `echo run; [ -e /second ] && exec sleep 600; touch /second; exit ${code}`;
  const started = await Promise.all([
    tspod(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo run; exit 4']),
    tspod(['run', '-d', '--name', 'forever', '--restart', 'always', 'busybox', 'sh', '-c', secondRunSleeps(0)]),
    tspod(['run', '-d', '--name', 'unless', '--restart', 'unless-stopped', 'busybox', 'sh', '-c', secondRunSleeps(1)]),
  ]);
  started.forEach((r) => assertOk(r, 'run -d --restart'));
  const names = ['flaky', 'forever', 'unless'];
  const format = '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}';
  const settled = ['exited 2 4 on-failure:2', 'running 1 0 always:0', 'running 1 0 unless-stopped:0'];
  let states: string[] = [];
  for (let i = 0; i < 300; i++) {
    states = await inspect(names, format);
    if (states.join() === settled.join()) break;
    await sleep(100);
  }
  assert.equal(states, settled);
  const logs = await Promise.all(names.map((n) => tspod(['logs', n])));
  assert.equal(
    logs.map((r) => r.stdout),
    ['run\nrun\nrun\n', 'run\nrun\n', 'run\nrun\n'],
  );

  assertOk(await tspod(['stop', '-t', '1', 'unless']), 'stop unless');
  // A restart would have happened within the stop's own cleanup; look once more after a while.
  await sleep(1000);
  assert.equal(await inspect(['flaky', 'unless'], format), ['exited 2 4 on-failure:2', 'exited 1 137 unless-stopped:0']);
  assertOk(await tspod(['rm', '-f', ...names]), 'rm -f');
});

/** busybox plus /marker holding `text`. */
async function markedImage(text: string) {
  const marker = layerFromTar(await tarball([{ name: 'marker', content: `${text}\n` }]));
  return buildImage({
    config: { Env: [DEFAULT_PATH], Cmd: ['cat', '/marker'] },
    layers: [
      { layer: await tinyLayerGzip(), createdBy: 'ADD busybox (tspod fixture)' },
      { layer: marker, createdBy: `ADD marker ${text}` },
    ],
  });
}

test('--pull missing pulls what the store lacks, then uses it; always fetches the moved tag; never uses what is there, refuses what is not', async () => {
  const target = { url: env.registry.url };
  await pushImage(target, 'test/moving', 'latest', await markedImage('v1'));
  const name = 'test/moving';
  const first = await tspod(['run', '--rm', name]);
  assertOk(first, 'run (missing) of an image the store lacks');
  assert.is(first.stdout, 'v1\n');
  assert.match(first.stderr, /Pulling from/);

  await pushImage(target, 'test/moving', 'latest', await markedImage('v2'));
  const [missing, never] = await Promise.all([tspod(['run', '--rm', '--pull', 'missing', name]), tspod(['run', '--rm', '--pull=never', name])]);
  assertOk(missing, '--pull missing');
  assertOk(never, '--pull never');
  assert.equal([missing.stdout, missing.stderr, never.stdout, never.stderr], ['v1\n', '', 'v1\n', '']);

  const always = await tspod(['run', '--rm', '--pull', 'always', name]);
  assertOk(always, '--pull always');
  assert.is(always.stdout, 'v2\n');
  assert.match(always.stderr, /Downloaded newer image/);
  assert.is((await tspod(['run', '--rm', '--pull', 'never', name])).stdout, 'v2\n');

  const before = leftovers(env.store);
  assertOneError(await tspod(['run', '--rm', '--pull', 'never', 'test/not-pulled']), /^Error: no such image: test\/not-pulled$/);
  assertNothingNew(env.store, before, '--pull never');
  assertOk(await tspod(['rmi', name]), 'rmi');
});

test.run();
