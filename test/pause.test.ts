/**
 * pause / unpause through the CLI: the cgroup freezer as root, SIGSTOP/SIGCONT of every process
 * in the container's pid namespace rootless; the state in ps and inspect; stop, kill and rm -f
 * of a paused container; the errors (already paused, not paused, not running, not found, several
 * at once); the events recorded.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openContainerEnv, until, type ContainerEnv } from './harness/container-env.js';
import { assertOneError } from './harness/store-checks.js';
import { containerPids, procStat } from '../src/namespaces/processes.js';

const test = suite('pause');
let env: ContainerEnv;
const rootless = process.geteuid!() !== 0;

test.before(async () => {
  env = await openContainerEnv(['busybox']);
});

test.after(async () => {
  await env?.close();
});

const ok = (args: string[]) => env.ok(args);
const inspect = async (name: string, format: string) => (await ok(['inspect', '-f', format, name])).trim();

/** A container with a child process (so "every process" is more than PID 1), ready once it logs. */
async function runReady(name: string, script = 'sleep 1000 & echo ready; while :; do sleep 1; done', flags: string[] = []): Promise<number> {
  await ok(['run', '-d', '--name', name, ...flags, 'busybox', 'sh', '-c', script]);
  await until(`${name} is ready`, async () => ((await ok(['logs', name])).includes('ready') ? true : undefined));
  return Number(await inspect(name, '{{.State.Pid}}'));
}

/** The freezer state of the process's cgroup (root), or each process's state letter (rootless). */
function frozen(pid: number): boolean {
  if (!rootless) {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1] === 'freezer');
    return readFileSync(path.join('/sys/fs/cgroup/freezer', line!.split(':')[2], 'freezer.state'), 'utf8').trim() === 'FROZEN';
  }
  const states = containerPids(pid).map((p) => procStat(p)?.[2]);
  assert.ok(states.length >= 2, `the container has its children: ${states.join(',')}`);
  return states.every((s) => s === 'T');
}

function events(): { action: string; name?: string }[] {
  const file = path.join(env.store.runroot, 'events', 'events.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { action: string; name?: string });
}

test('pause: every process stops (freezer as root, SIGSTOP rootless), ps says (Paused), inspect paused; unpause undoes it; events recorded', async () => {
  const pid = await runReady('p1');
  assert.is(await ok(['pause', 'p1']), 'p1\n');
  assert.ok(frozen(pid), 'frozen or stopped');
  assert.match(await ok(['ps', '--filter', 'name=^p1$', '--format', '{{.Status}}|{{.State}}']), /^Up .* \(Paused\)\|paused\n$/);
  assert.is(await inspect('p1', '{{.State.Status}} {{.State.Paused}} {{.State.Running}}'), 'paused true true');
  assert.is(await ok(['ps', '-q', '--filter', 'status=paused']), `${(await inspect('p1', '{{.Id}}')).slice(0, 12)}\n`);
  assert.is(await ok(['container', 'unpause', 'p1']), 'p1\n');
  assert.not.ok(frozen(pid), 'running again');
  assert.is(await inspect('p1', '{{.State.Status}} {{.State.Paused}}'), 'running false');
  const mine = events().filter((e) => e.name === 'p1').map((e) => e.action);
  assert.equal(mine.filter((a) => a === 'pause' || a === 'unpause'), ['pause', 'unpause']);
  await ok(['rm', '-f', 'p1']);
});

test('errors: already paused, not paused, not running, not found: one line each, nothing changed; several names: the good ones done', async () => {
  await runReady('p2');
  await ok(['create', '--name', 'p2created', 'busybox', 'true']);
  assertOneError(await env.tspod(['unpause', 'p2']), /^Error: container p2 is not paused$/);
  assertOneError(await env.tspod(['pause', 'p2created']), /^Error: container p2created is not running: start it first$/);
  assertOneError(await env.tspod(['pause', 'nope']), /^Error: no such container: nope$/, 1);
  await ok(['container', 'pause', 'p2']);
  assertOneError(await env.tspod(['pause', 'p2']), /^Error: container p2 is already paused$/);
  assertOneError(await env.tspod(['start', 'p2']), /paused/);
  assert.is(await inspect('p2', '{{.State.Status}}'), 'paused');
  const several = await env.tspod(['unpause', 'p2', 'nope', 'p2created']);
  assert.is(several.code, 125);
  assert.is(several.stdout, 'p2\n');
  assert.equal(several.stderr.trim().split('\n'), ['Error: no such container: nope', 'Error: container p2created is not paused']);
  assert.is(await inspect('p2', '{{.State.Status}}'), 'running');
  await ok(['rm', '-f', 'p2', 'p2created']);
});

test('stop of a paused container: the stop signal reaches it (a TERM trap runs) and it exits without waiting for the timeout', async () => {
  await runReady('p3', 'trap "echo got-TERM; exit 42" TERM; echo ready; while :; do sleep 1; done');
  await ok(['pause', 'p3']);
  await ok(['stop', '-t', '100', 'p3']);
  assert.is(await inspect('p3', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 42');
  assert.match(await ok(['logs', 'p3']), /got-TERM/);
  await ok(['rm', 'p3']);
});

test('kill of a paused container: SIGKILL ends it (137); another signal waits, paused, until unpause', async () => {
  await runReady('p4', 'trap "echo got-USR1" USR1; echo ready; while :; do sleep 1; done');
  await ok(['pause', 'p4']);
  await ok(['kill', '-s', 'USR1', 'p4']);
  assert.is(await inspect('p4', '{{.State.Status}}'), 'paused');
  assert.not.match(await ok(['logs', 'p4']), /got-USR1/);
  await ok(['unpause', 'p4']);
  await until('the USR1 trap ran', async () => ((await ok(['logs', 'p4'])).includes('got-USR1') ? true : undefined), 20_000);
  await ok(['pause', 'p4']);
  await ok(['kill', 'p4']);
  await ok(['wait', 'p4']);
  assert.is(await inspect('p4', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137');
  await ok(['rm', 'p4']);
});

test('rm -f of a paused container removes it and its processes', async () => {
  const pid = await runReady('p5');
  const pids = containerPids(pid);
  await ok(['pause', 'p5']);
  assert.is(await ok(['rm', '-f', 'p5']), 'p5\n');
  assert.is(await ok(['ps', '-aq', '--filter', 'name=^p5$']), '');
  await until('its processes are gone', () => (pids.every((p) => !existsSync(`/proc/${p}`)) ? true : undefined), 20_000);
});

test('--help says which mechanism is used when', async () => {
  const help = await ok(['pause', '--help']);
  assert.match(help, /As root, tspod uses the cgroup freezer/);
  assert.match(help, /SIGSTOP/);
  assert.match(await ok(['unpause', '--help']), /SIGCONT/);
});

test.run();
