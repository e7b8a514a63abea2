/**
 * stop and rm of several containers in one command: every container is tried, the ones that went
 * through are printed in the order given, the others get one error line each (exit code: the
 * highest), and a container that cannot be removed keeps its record and files, consistent.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { joinUserNamespace } from '../src/namespaces/userns.js';
import { openContainerEnv, until, type ContainerEnv } from './harness/container-env.js';

const test = suite('bulk');
const execFileAsync = promisify(execFile);
let env: ContainerEnv;

test.before(async () => {
  env = await openContainerEnv(['busybox']);
});

test.after(async () => {
  await env?.close();
});

const tspod = (args: string[]) => env.tspod(args);
const ok = (args: string[]) => env.ok(args);
const inspect = async (name: string, format: string) => (await ok(['inspect', '-f', format, name])).trim();
const names = async (all = true) => (await ok(['ps', ...(all ? ['-a'] : []), '--format', '{{.Names}}'])).split('\n').filter(Boolean).sort();
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('Error: '));

/** Runs a detached container and waits until its first line is in the log. */
async function runReady(name: string, script: string, flags: string[] = []): Promise<string> {
  const id = (await ok(['run', '-d', '--name', name, ...flags, 'busybox', 'sh', '-c', script])).trim();
  await until(`${name} is ready`, async () => ((await ok(['logs', name])).includes('ready') ? true : undefined));
  return id;
}

/** The events of `action` recorded so far for these containers (by name). */
async function eventsOf(action: string, ...containers: string[]): Promise<string[]> {
  const filters = containers.flatMap((c) => ['--filter', `container=${c}`]);
  const out = await ok(['events', '--until', '0s', '--filter', `event=${action}`, ...filters, '--format', '{{.Actor.Attributes.name}}']);
  return out.split('\n').filter(Boolean).sort();
}

test('stop of several: each its own stop signal and timeout, waited for together; a missing one is one error line, the others stop, names in the order given', async () => {
  await Promise.all([
    runReady('s-usr1', 'trap "exit 10" USR1; echo ready; while :; do sleep 1; done', ['--stop-signal', 'USR1']),
    runReady('s-deaf', 'trap "echo got-TERM" TERM; echo ready; while :; do sleep 1; done', ['--stop-timeout', '1']),
    runReady('s-term', 'trap "exit 0" TERM; echo ready; while :; do sleep 1; done'),
    ok(['create', '--name', 's-created', 'busybox', 'true']),
  ]);
  const r = await tspod(['stop', 's-deaf', 's-created', 'no-such-container', 's-usr1', 's-term']);
  assert.is(r.code, 1, r.stderr);
  assert.is(r.stdout, 's-deaf\ns-created\ns-usr1\ns-term\n');
  assert.equal(errorLines(r.stderr), ['Error: no such container: no-such-container']);
  assert.is(await inspect('s-usr1', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 10', 'USR1, its stop signal');
  assert.is(await inspect('s-deaf', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137', 'SIGKILL after its 1 s');
  assert.match(await ok(['logs', 's-deaf']), /^ready\ngot-TERM\n/, 'SIGTERM came first');
  assert.is(await inspect('s-term', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 0');
  assert.is(await inspect('s-created', '{{.State.Status}}'), 'created', 'a container that never ran stays created');
  assert.equal(await eventsOf('stop', 's-usr1', 's-deaf', 's-term', 's-created'), ['s-deaf', 's-term', 's-usr1'], 'one stop event per stopped container');
  assert.equal(await eventsOf('die', 's-usr1', 's-deaf', 's-term'), ['s-deaf', 's-term', 's-usr1'], 'one die event each');

  // -t for all of them (s-term ends on TERM at once, the deaf one is killed after 1 s), and a
  // stopped one: each printed as given.
  await Promise.all([ok(['start', 's-deaf']), ok(['start', 's-term'])]);
  await until('both are ready again', async () => ((await ok(['logs', 's-term'])).match(/ready/g)?.length === 2 && (await ok(['logs', 's-deaf'])).match(/ready/g)?.length === 2 ? true : undefined));
  assert.is(await ok(['stop', '-t', '1', 's-term', 's-usr1', 's-deaf']), 's-term\ns-usr1\ns-deaf\n');
  assert.is(await inspect('s-deaf', '{{.State.ExitCode}}'), '137');
  assert.is(await inspect('s-term', '{{.State.ExitCode}}'), '0');
  assert.is((await ok(['ps', '-q'])).trim(), '', 'nothing runs');
  await ok(['rm', 's-usr1', 's-deaf', 's-term', 's-created']);
});

test('rm of several: created, exited and (with -f) running ones go in one command; without -f a running one is exit 2 and kept; a missing one is exit 1; one line each', async () => {
  const running = await runReady('r-running', 'echo ready; while :; do sleep 1; done');
  await Promise.all([ok(['create', '--name', 'r-created', 'busybox']), ok(['run', '--name', 'r-exited', 'busybox', 'true'])]);
  const pid = await inspect('r-running', '{{.State.Pid}}');

  const r = await tspod(['rm', 'r-created', 'r-missing', 'r-running', 'r-exited']);
  assert.is(r.code, 2, r.stderr);
  assert.is(r.stdout, 'r-created\nr-exited\n');
  assert.equal(errorLines(r.stderr), [
    'Error: no such container: r-missing',
    'Error: cannot remove container r-running: it is running: stop it first or use rm -f',
  ]);
  assert.equal(await names(), ['r-running']);
  assert.is(await inspect('r-running', '{{.State.Status}} {{.State.Pid}}'), `running ${pid}`, 'the running one is untouched');
  assert.ok(existsSync(path.join(env.store.root, 'containers', running)));
  assert.equal(await eventsOf('destroy', 'r-created', 'r-exited', 'r-running'), ['r-created', 'r-exited']);

  await Promise.all([runReady('r-running2', 'echo ready; while :; do sleep 1; done'), ok(['create', '--name', 'r-created2', 'busybox'])]);
  const ids = (await ok(['ps', '-aq', '--no-trunc'])).trim().split('\n');
  assert.is(await ok(['rm', '-f', 'r-running', 'r-created2', 'r-running2']), 'r-running\nr-created2\nr-running2\n');
  assert.equal(await names(), []);
  for (const id of ids) {
    assert.not.ok(existsSync(path.join(env.store.root, 'containers', id)), `ROOT/containers/${id} is gone`);
    assert.not.ok(existsSync(path.join(env.store.runroot, 'containers', id)), `RUNROOT/containers/${id} is gone`);
    assert.not.ok(existsSync(path.join(env.store.runroot, 'runtime', id)), `the runtime's state of ${id} is gone`);
  }
  assert.not.ok(readFileOr(`/proc/${pid}/cmdline`).startsWith('sh'), 'rm -f killed its process');
});

function readFileOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Runs argv inside the store's namespace (rootless: the pause process's user and mount namespace). */
async function inNamespace(argv: string[]): Promise<void> {
  const wrapped = (await joinUserNamespace({ runroot: env.store.runroot })).wrap(argv);
  await execFileAsync(wrapped[0]!, wrapped.slice(1));
}

test('rm of several where one cannot be removed (a mount in its directory): it is reported and kept, whole and usable; the others go; once freed it goes too', async () => {
  const [stuck] = await Promise.all(['x-stuck', 'x-one', 'x-two'].map(async (name) => (await ok(['create', '--name', name, 'busybox', 'true'])).trim()));
  const blocker = path.join(env.store.root, 'containers', stuck!, 'userdata', 'blocker');
  mkdirSync(blocker);
  await inNamespace(['mount', '-t', 'tmpfs', 'tmpfs', blocker]);
  try {
    const r = await tspod(['rm', 'x-one', 'x-stuck', 'x-two']);
    assert.is(r.code, 125, r.stderr);
    assert.is(r.stdout, 'x-one\nx-two\n');
    const errors = errorLines(r.stderr);
    assert.is(errors.length, 1, r.stderr);
    assert.match(errors[0]!, new RegExp(`^Error: cannot remove ${path.join(env.store.root, 'containers', stuck!)}`));
    assert.equal(await names(), ['x-stuck']);
    assert.is(await inspect('x-stuck', '{{.State.Status}}'), 'created');
    assert.equal(await eventsOf('destroy', 'x-stuck'), [], 'no destroy event for the one kept');
  } finally {
    await inNamespace(['umount', blocker]);
  }
  // Its files are whole: it still runs.
  assert.is(await ok(['start', '-a', 'x-stuck']), '');
  assert.is(await inspect('x-stuck', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 0');
  assert.is(await ok(['rm', 'x-stuck']), 'x-stuck\n');
  assert.equal(await names(), []);
});

test('container prune and rm -a -f of many at once: all gone, each with one destroy event', async () => {
  const created = Array.from({ length: 6 }, (_, i) => `p-${i}`);
  for (const name of created) await ok(['create', '--name', name, 'busybox', 'true']);
  await ok(['run', '--name', 'p-exited', 'busybox', 'true']);
  const running = await runReady('p-running', 'echo ready; while :; do sleep 1; done');
  const pruned = (await ok(['container', 'prune', '-f'])).split('\n').filter(Boolean);
  assert.is(pruned[0], 'Deleted Containers:');
  assert.is(pruned.length, 1 + 7, 'the created ones and the exited one');
  assert.equal(await names(), ['p-running']);
  assert.is(await ok(['rm', '-a', '-f']), `${running}\n`);
  assert.equal(await names(), []);
  const all = [...created, 'p-exited', 'p-running'];
  assert.equal(await eventsOf('destroy', ...all), all.sort());
});

test.run();
