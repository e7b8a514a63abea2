/**
 * The container lifecycle through the CLI, for real: create, start (-a, -ai), stop (-t, and the
 * default 10 s before SIGKILL), kill (-s), restart, rm (-f, -v, several, -a), container prune,
 * wait, rename, inspect, unique ID prefixes, restart policies applied by conmon's exit command,
 * `start --all --filter restart-policy=...` after a simulated reboot, and the systemd unit of
 * `system service install`. Exit codes and messages as in Docker (Podman where Docker has none).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN } from './harness/cli.js';
import { openContainerEnv, until, type ContainerEnv } from './harness/container-env.js';
import { assertOneError } from './harness/store-checks.js';

const test = suite('lifecycle');
const execFileAsync = promisify(execFile);
let env: ContainerEnv;

test.before(async () => {
  env = await openContainerEnv(['busybox']);
});

test.after(async () => {
  await env?.close();
});

const tspod = (args: string[], opts?: { input?: string }) => env.tspod(args, opts);
const ok = (args: string[], opts?: { input?: string }) => env.ok(args, opts);
const inspect = async (name: string, format: string) => (await ok(['inspect', '-f', format, name])).trim();
const status = (name: string) => inspect(name, '{{.State.Status}} {{.State.ExitCode}}');
const containersJson = () => readFileSync(path.join(env.store.root, 'containers.json'), 'utf8');

/** A shell loop that notes each signal it gets and goes on (PID 1 gets only handled signals). */
const noting = (...signals: string[]) => `${signals.map((s) => `trap "echo got-${s}" ${s}; `).join('')}echo ready; while :; do sleep 1; done`;

/** Runs a detached container and waits until its first line is in the log. */
async function runReady(name: string, script: string, flags: string[] = []): Promise<string> {
  const id = (await ok(['run', '-d', '--name', name, ...flags, 'busybox', 'sh', '-c', script])).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  await until(`${name} is ready`, async () => ((await ok(['logs', name])).includes('ready') ? true : undefined));
  return id;
}

test('create, then start: Created, then running; start prints its argument, a unique ID prefix works', async () => {
  const id = (await ok(['create', '--name', 'made', 'busybox', 'sleep', '1000'])).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.is(await inspect('made', '{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.StartedAt}}'), 'created false 0 0001-01-01T00:00:00Z');
  assert.is(await ok(['ps', '-a', '--filter', 'name=^made$', '--format', '{{.Status}}']), 'Created\n');
  const prefix = id.slice(0, 7);
  assert.is(await ok(['start', prefix]), `${prefix}\n`);
  const [state, pid] = (await inspect('made', '{{.State.Status}} {{.State.Pid}}')).split(' ');
  assert.is(state, 'running');
  assert.ok(existsSync(`/proc/${pid}`), 'State.Pid is the live process');
  assert.is(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\x001000\x00');
  // start of a running container is no error (Docker)
  assert.is(await ok(['start', 'made']), 'made\n');
  assert.is(await ok(['stop', '-t', '1', 'made']), 'made\n');
  assert.is(await status('made'), 'exited 137');
  await ok(['rm', 'made']);
});

test('stop: the stop signal first, SIGKILL after the timeout (default 10 s, and -t 1): 137; stopping a stopped container prints its name, exit 0', async () => {
  await Promise.all([runReady('ignorer', noting('TERM')), runReady('quick', noting('TERM'))]);
  const [byDefault, withT] = await Promise.all([tspod(['stop', 'ignorer']), tspod(['stop', '-t', '1', 'quick'])]);
  assert.equal([byDefault.code, byDefault.stdout, withT.code, withT.stdout], [0, 'ignorer\n', 0, 'quick\n']);
  for (const name of ['ignorer', 'quick']) {
    assert.is(await status(name), 'exited 137');
    assert.match(await ok(['logs', name]), /^ready\ngot-TERM\n$/, `${name} got SIGTERM before SIGKILL`);
  }
  // A process that ends on SIGTERM: its own exit code.
  await runReady('polite', 'trap "exit 0" TERM; echo ready; while :; do sleep 1; done');
  assert.is(await ok(['stop', 'polite']), 'polite\n');
  assert.is(await status('polite'), 'exited 0');
  const again = await tspod(['stop', 'polite']);
  assert.equal([again.code, again.stdout, again.stderr], [0, 'polite\n', '']);
  await ok(['rm', 'ignorer', 'quick', 'polite']);
});

test('kill: -s TERM, -s 9, -s USR1 (trapped: it goes on), default SIGKILL; a stopped or crashed container is one line and 125', async () => {
  await Promise.all([
    runReady('k-term', 'trap "exit 143" TERM; echo ready; while :; do sleep 1; done'),
    runReady('k-nine', noting('TERM')),
    runReady('k-usr1', noting('USR1')),
    runReady('k-default', noting('TERM', 'INT')),
  ]);
  assert.is(await ok(['kill', '-s', 'TERM', 'k-term']), 'k-term\n');
  assert.is(await ok(['kill', '-s', '9', 'k-nine']), 'k-nine\n');
  assert.is(await ok(['kill', '--signal', 'USR1', 'k-usr1']), 'k-usr1\n');
  assert.is(await ok(['kill', 'k-default']), 'k-default\n');
  assert.is(await ok(['wait', 'k-term', 'k-nine', 'k-default']), '143\n137\n137\n');
  await until('k-usr1 noted USR1', async () => ((await ok(['logs', 'k-usr1'])).includes('got-USR1') ? true : undefined));
  assert.is(await status('k-usr1'), 'running 0');
  assert.is(await status('k-nine'), 'exited 137');
  assert.is(await ok(['logs', 'k-nine']), 'ready\n', 'SIGKILL is no SIGTERM');

  const before = containersJson();
  assertOneError(await tspod(['kill', 'k-term']), /^Error: cannot kill container k-term: it is not running$/, 125);
  assertOneError(await tspod(['kill', '-s', 'NOPE', 'k-usr1']), /^Error: .*NOPE/, 125);
  assert.is(containersJson(), before, 'failed kills changed nothing');
  assert.is(await status('k-usr1'), 'running 0');
  // Recorded as running, but its process is gone and nobody noticed yet: not running either.
  await runReady('k-crashed', noting('TERM'));
  await crash('k-crashed');
  assertOneError(await tspod(['kill', 'k-crashed']), /^Error: cannot kill container k-crashed: it is not running$/, 125);
  await ok(['rm', '-f', 'k-term', 'k-nine', 'k-usr1', 'k-default', 'k-crashed']);
});

test('restart (-t 1): a new process and StartedAt, running again, RestartCount untouched; restart of an exited container starts it', async () => {
  const id = await runReady('again', noting('TERM'));
  const [startedAt, pid] = (await inspect('again', '{{.State.StartedAt}} {{.State.Pid}}')).split(' ');
  assert.is(await ok(['restart', '-t', '1', id.slice(0, 10)]), `${id.slice(0, 10)}\n`);
  const [startedAt2, pid2, state, count] = (await inspect('again', '{{.State.StartedAt}} {{.State.Pid}} {{.State.Status}} {{.RestartCount}}')).split(' ');
  assert.is(state, 'running');
  assert.is(count, '0');
  assert.ok(Date.parse(startedAt2) > Date.parse(startedAt), `StartedAt ${startedAt} -> ${startedAt2}`);
  assert.is.not(pid2, pid);
  assert.not.ok(existsSync(`/proc/${pid}`), 'the old process is gone');
  await until('the new run is ready', async () => ((await ok(['logs', 'again'])).match(/ready/g)?.length === 2 ? true : undefined));
  await ok(['stop', '-t', '1', 'again']);
  assert.is(await ok(['restart', 'again']), 'again\n');
  assert.is(await inspect('again', '{{.State.Status}}'), 'running');
  await ok(['rm', '-f', 'again']);
});

test('restart of an --rm container keeps it (a restart is no exit), running again; a real exit still removes it', async () => {
  const id = await runReady('rm-again', noting('TERM'), ['--rm']);
  const [pid, conmonPid] = (await inspect('rm-again', '{{.State.Pid}} {{.State.ConmonPid}}')).split(' ');
  assert.is(await ok(['restart', '-t', '1', 'rm-again']), 'rm-again\n');
  assert.is(await inspect('rm-again', '{{.State.Status}} {{.Id}}'), `running ${id}`);
  assert.is.not(await inspect('rm-again', '{{.State.Pid}}'), pid);
  // The first run's conmon waits for its exit command (container cleanup): once it is gone, the
  // cleanup has had its say, and the container is still there.
  await until('the first run\'s conmon is gone', async () => (existsSync(`/proc/${conmonPid}`) ? undefined : true));
  assert.is((await ok(['ps', '-a', '--filter', 'name=rm-again', '--format', '{{.Status}}'])).split(' ')[0], 'Up');
  await ok(['stop', '-t', '1', 'rm-again']);
  await until('--rm removed it after the stop', async () => (containersJson().includes(id) ? undefined : true));
});

test('rm: a running container without -f is exit 2 and one line, nothing changed; -f removes it; several with one missing; -v; -a', async () => {
  const [runningId] = await Promise.all([runReady('busy', noting('TERM')), ok(['run', '--name', 'done1', 'busybox', 'true']), ok(['create', '--name', 'fresh', 'busybox'])]);
  const pid = await inspect('busy', '{{.State.Pid}}');
  const before = containersJson();
  assertOneError(await tspod(['rm', 'busy']), /^Error: cannot remove container busy: it is running: stop it first or use rm -f$/, 2);
  assert.is(containersJson(), before, 'the record is as it was');
  assert.ok(existsSync(`/proc/${pid}`), 'its process runs on');
  assert.ok(existsSync(path.join(env.store.root, 'containers', runningId)), 'its directory is there');

  // Several at once, one missing: the others go, one error line, exit 1 (no such container).
  const several = await tspod(['rm', '-f', 'busy', 'no-such-container', 'done1']);
  assert.is(several.code, 1, several.stderr);
  assert.is(several.stdout, 'busy\ndone1\n');
  assert.is(several.stderr, 'Error: no such container: no-such-container\n');
  assert.not.ok(existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sh'), 'rm -f killed it');
  assert.not.ok(existsSync(path.join(env.store.root, 'containers', runningId)), 'its directory is gone');
  assert.is(await ok(['rm', '-v', 'fresh']), 'fresh\n');
  assertOneError(await tspod(['rm', 'fresh']), /^Error: no such container: fresh$/, 1);
  assertOneError(await tspod(['rm']), /requires at least 1 argument/, 125);

  // -a: every container; a running one needs -f too.
  await Promise.all([runReady('a-running', noting('TERM')), ok(['create', '--name', 'a-created', 'busybox'])]);
  const all = await tspod(['rm', '-a']);
  assert.is(all.code, 2, all.stderr);
  assert.is(all.stdout.trim().split('\n').length, 1, 'the created one is removed');
  assert.match(all.stderr, /^Error: cannot remove container [0-9a-f]{64}: it is running/);
  assert.is(await ok(['ps', '-a', '--format', '{{.Names}}']), 'a-running\n');
  await ok(['rm', '-af']);
  assert.is(await ok(['ps', '-aq']), '');
});

test('container prune -f: removes the stopped ones (Docker\'s "Deleted Containers:"), leaves the running ones', async () => {
  const [keep, gone1, gone2] = await Promise.all([
    runReady('p-running', noting('TERM')),
    ok(['run', '-d', '--name', 'p-exited', 'busybox', 'true']).then((s) => s.trim()),
    ok(['create', '--name', 'p-created', 'busybox']).then((s) => s.trim()),
  ]);
  await until('p-exited exited', async () => ((await status('p-exited')) === 'exited 0' ? true : undefined));
  const out = await ok(['container', 'prune', '-f']);
  const lines = out.split('\n');
  assert.is(lines[0], 'Deleted Containers:');
  assert.equal(lines.slice(1).filter(Boolean).sort(), [gone1, gone2].sort());
  assert.is(await ok(['ps', '-aq', '--no-trunc']), `${keep}\n`);
  assert.is(await ok(['container', 'prune', '-f']), '', 'nothing left to prune: nothing printed');
  // Without -f, Docker's prompt: the answer comes from stdin, terminal or not.
  await ok(['run', '--name', 'p-exited2', 'busybox', 'true']);
  const prompt = 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ';
  const noAnswer = await tspod(['container', 'prune']);
  assert.equal([noAnswer.code, noAnswer.stdout, noAnswer.stderr], [125, '', `${prompt}\nError: no answer to the confirmation prompt: use -f/--force to skip it\n`]);
  const no = await tspod(['container', 'prune'], { input: 'n\n' });
  assert.equal([no.code, no.stderr], [125, `${prompt}\nError: cancelled\n`]);
  assert.is(await ok(['ps', '-a', '--format', '{{.Names}}', '--filter', 'status=exited']), 'p-exited2\n');
  assert.match(await ok(['container', 'prune'], { input: 'y\n' }), /^Deleted Containers:\n[0-9a-f]{64}\n/);
  assert.is(await ok(['ps', '-aq']), `${keep.slice(0, 12)}\n`);
  await ok(['rm', '-f', 'p-running']);
});

/** A `tspod wait NAME` process that watches something with inotify. */
function waitingProcess(name: string): boolean {
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').endsWith(`\0wait\0${name}\0`)) continue;
      if (readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSafe(`/proc/${pid}/fd/${fd}`) === 'anon_inode:inotify')) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

function readlinkSafe(link: string): string {
  try {
    return readlinkSync(link);
  } catch {
    return '';
  }
}

test('wait: prints the exit codes of exited containers; on a running one it blocks until the container ends', async () => {
  await Promise.all([ok(['run', '--name', 'w-zero', 'busybox', 'true']), tspod(['run', '--name', 'w-three', 'busybox', 'sh', '-c', 'exit 3'])]);
  assert.is(await ok(['wait', 'w-three', 'w-zero']), '3\n0\n');
  await runReady('w-running', 'trap "exit 7" USR1; echo ready; while :; do sleep 1; done');
  const waiting = ok(['wait', 'w-running']);
  // The exit code 7 exists only after USR1; the kill comes once wait is in its wait loop (it
  // watches the exit dir with inotify), so what wait prints is what it waited for.
  await until('wait watches the exit dir', () => (waitingProcess('w-running') ? true : undefined));
  await ok(['kill', '-s', 'USR1', 'w-running']);
  assert.is(await waiting, '7\n');
  assert.is(await status('w-running'), 'exited 7');
  assertOneError(await tspod(['wait', 'w-nope']), /^Error: no such container: w-nope$/, 1);
  await ok(['rm', 'w-zero', 'w-three', 'w-running']);
});

test('rename: by name and by ID prefix; a taken name is 125 and changes nothing; an invalid name is refused', async () => {
  const id = (await ok(['create', '--name', 'old-name', 'busybox'])).trim();
  await ok(['create', '--name', 'taken', 'busybox']);
  assert.is(await ok(['rename', 'old-name', 'new-name']), '');
  assert.is(await inspect(id, '{{.Name}}'), '/new-name');
  await ok(['rename', id.slice(0, 9), 'newer']);
  assert.is(await inspect('newer', '{{.Id}}'), id);
  const before = containersJson();
  assertOneError(await tspod(['rename', 'newer', 'taken']), /^Error: the container name "taken" is already in use by container [0-9a-f]{12}/, 125);
  assertOneError(await tspod(['rename', 'newer', 'bad/name']), /^Error: invalid container name "bad\/name"/, 125);
  assertOneError(await tspod(['rename', 'no-such', 'other']), /^Error: no such container: no-such$/, 1);
  assert.is(containersJson(), before);
  assertOneError(await tspod(['create', '--name', 'taken', 'busybox']), /already in use/, 125);
  await ok(['rm', 'newer', 'taken']);
});

test('inspect: Docker\'s fields for a running and an exited container, -f, --type, container inspect; unknown is one line', async () => {
  const id = await runReady('insp', noting('TERM'), ['-l', 'tier=web', '-e', 'FOO=bar', '--hostname', 'box']);
  const [running] = JSON.parse(await ok(['inspect', 'insp']));
  assert.is(running.Id, id);
  assert.is(running.Name, '/insp');
  assert.match(running.Created, /^\d{4}-\d\d-\d\dT/);
  assert.match(running.Image, /^sha256:[0-9a-f]{64}$/);
  assert.is(running.State.Status, 'running');
  assert.is(running.State.Running, true);
  assert.ok(running.State.Pid > 0 && existsSync(`/proc/${running.State.Pid}`));
  assert.is(running.State.ExitCode, 0);
  assert.equal(running.Config.Cmd, ['sh', '-c', noting('TERM')]);
  assert.is(running.Config.Hostname, 'box');
  assert.ok(running.Config.Env.includes('FOO=bar'));
  assert.is(running.Config.Labels.tier, 'web');
  assert.is(running.Config.Image, 'busybox');
  assert.is(running.HostConfig.RestartPolicy.Name, 'no');
  assert.is(running.HostConfig.AutoRemove, false);
  assert.ok(Array.isArray(running.Mounts));
  assert.type(running.NetworkSettings, 'object');
  assert.is(running.NetworkSettings.SandboxKey, `/proc/${running.State.Pid}/ns/net`);
  assert.is(running.Path, 'sh');

  await ok(['stop', '-t', '1', 'insp']);
  assert.is(await inspect('insp', '{{.State.Status}} {{.State.ExitCode}} {{.State.Pid}} {{.State.Running}}'), 'exited 137 0 false');
  assert.is(await ok(['container', 'inspect', '-f', '{{.Name}} {{.HostConfig.RestartPolicy.Name}}', id.slice(0, 6)]), '/insp no\n');
  assert.is(await ok(['inspect', '--type', 'container', '-f', '{{.Config.Hostname}}', 'insp']), 'box\n');
  assert.match(await ok(['inspect', '--type', 'image', '-f', '{{.Id}}', 'busybox']), /^sha256:[0-9a-f]{64}\n$/);
  // Nothing found: the empty JSON array, then the error (Podman); with a template, nothing.
  const missing = async (args: string[]) => {
    const r = await tspod(args);
    return [r.code, r.stdout, r.stderr];
  };
  assert.equal(await missing(['inspect', '--type', 'container', 'busybox']), [1, '[]\n', 'Error: no such container: busybox\n']);
  assert.equal(await missing(['inspect', '--type', 'image', '-f', '{{.Id}}', 'insp']), [125, '', 'Error: no such image: insp\n']);
  assert.equal(await missing(['inspect', 'nothing-here']), [125, '[]\n', 'Error: no such object: nothing-here\n']);
  // Found ones are printed, the missing one reported after them.
  assert.equal(await missing(['inspect', '-f', '{{.Name}}', 'insp', 'nothing-here']), [125, '/insp\n', 'Error: no such object: nothing-here\n']);
  await ok(['rm', 'insp']);
});

test('ID prefixes: unique ones work in every command; an ambiguous one is one line and changes nothing', async () => {
  const ids: string[] = [];
  let shared: [string, string] | undefined;
  // Two IDs sharing a first hex digit: 17 containers at most, by pigeonhole (20 in batches).
  while (!shared) {
    // Four at a time: a first shared digit is likely among 5 to 6 IDs.
    const batch = await Promise.all([1, 2, 3, 4].map(async () => (await ok(['create', 'busybox', 'sleep', '1000'])).trim()));
    for (const id of batch) {
      const twin = ids.find((other) => other[0] === id[0]);
      if (twin && !shared) shared = [twin, id];
      ids.push(id);
    }
  }
  const [a, b] = shared;
  let common = 1;
  while (a[common] === b[common]) common++;
  const ambiguous = a.slice(0, common);
  const before = containersJson();
  for (const args of [['start'], ['inspect', '-f', '{{.Id}}'], ['rm', '-f'], ['logs'], ['wait'], ['stop'], ['kill'], ['restart'], ['rename']]) {
    assertOneError(await tspod([...args, ambiguous, ...(args[0] === 'rename' ? ['x'] : [])]), new RegExp(`^Error: short ID "${ambiguous}" is ambiguous`), 125);
  }
  assert.is(containersJson(), before, 'nothing changed');

  let length = common + 1;
  while (ids.filter((id) => id.startsWith(a.slice(0, length))).length > 1) length++;
  const unique = a.slice(0, length);
  assert.is(await ok(['start', unique]), `${unique}\n`);
  assert.is(await ok(['ps', '-q', '--no-trunc', '--filter', `id=${unique}`]), `${a}\n`);
  assert.is(await inspect(unique, '{{.State.Status}}'), 'running');
  assert.is(await ok(['kill', unique]), `${unique}\n`);
  assert.is(await ok(['wait', unique]), '137\n');
  assert.is(await ok(['logs', unique]), '');
  assert.is(await ok(['rm', unique]), `${unique}\n`);
  await ok(['rm', ...ids.filter((id) => id !== a)]);
});

test('start -a: the output of a new run and its exit code (again on a second start); start -ai feeds stdin', async () => {
  await ok(['create', '--name', 'attached', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 5']);
  for (let run = 0; run < 2; run++) {
    const r = await tspod(['start', '-a', 'attached']);
    assert.equal([r.code, r.stdout, r.stderr], [5, 'out\n', 'err\n'], `run ${run + 1}`);
  }
  assert.is(await ok(['logs', 'attached']), 'out\nout\n', 'the log keeps both runs');
  await ok(['create', '-i', '--name', 'reader', 'busybox', 'sh', '-c', 'cat; echo done']);
  const fed = await tspod(['start', '-ai', 'reader'], { input: 'hello\nworld\n' });
  assert.equal([fed.code, fed.stdout], [0, 'hello\nworld\ndone\n']);
  assertOneError(await tspod(['start', '-a', 'attached', 'reader']), /several containers/, 125);
  await ok(['rm', 'attached', 'reader']);
});

test('--restart on-failure:2 and always: conmon\'s exit command starts them again; stop ends always for good', async () => {
  await Promise.all([
    ok(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo run; exit 4']),
    ok(['run', '-d', '--name', 'forever', '--restart', 'always', 'busybox', 'sh', '-c', 'echo run; sleep 1']),
    ok(['run', '-d', '--name', 'fine', '--restart', 'on-failure', 'busybox', 'sh', '-c', 'echo run; exit 0']),
  ]);
  // No tspod command touches them meanwhile: the restarts are conmon's exit command's doing.
  const logPath = async (name: string) => inspect(name, '{{.LogPath}}');
  const runs = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').match(/ stdout F run$/gm)?.length ?? 0 : 0);
  const [flakyLog, foreverLog, fineLog] = await Promise.all(['flaky', 'forever', 'fine'].map(logPath));
  await until('flaky ran 3 times', () => (runs(flakyLog) === 3 ? true : undefined), 90_000);
  await until('forever ran 3 times', () => (runs(foreverLog) >= 3 ? true : undefined), 90_000);
  assert.is(await inspect('flaky', '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}'), 'exited 4 2');
  assert.is(await inspect('fine', '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}'), 'exited 0 0');
  assert.is(runs(fineLog), 1);
  assert.ok(Number(await inspect('forever', '{{.RestartCount}}')) >= 2);
  await ok(['stop', '-t', '1', 'forever']);
  const count = runs(foreverLog);
  assert.match(await status('forever'), /^exited /);
  // Its last run would have ended within a second: had stop not been final, a new one would follow.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  assert.is(runs(foreverLog), count, 'no run after stop');
  assert.match(await status('forever'), /^exited /);
  await ok(['rm', 'flaky', 'forever', 'fine']);
});

/** Ends a running container the way a power cut does: its monitor and its process die at once, nobody cleans up. */
async function crash(name: string): Promise<void> {
  const [pid, conmonPid] = (await inspect(name, '{{.State.Pid}} {{.State.ConmonPid}}')).split(' ').map(Number);
  process.kill(conmonPid, 'SIGKILL');
  process.kill(pid, 'SIGKILL');
  await until(`${name}'s processes are gone`, () => (existsSync(`/proc/${pid}`) || existsSync(`/proc/${conmonPid}`) ? undefined : true), 10_000);
}

test('start --all --filter restart-policy=always --filter restart-policy=unless-stopped (the boot unit): what a reboot ended comes back, what the user stopped stays down unless always', async () => {
  await Promise.all([
    runReady('b-always', noting('TERM'), ['--restart', 'always']),
    runReady('b-unless', noting('TERM'), ['--restart', 'unless-stopped']),
    runReady('b-always-stopped', noting('TERM'), ['--restart', 'always']),
    runReady('b-unless-stopped', noting('TERM'), ['--restart', 'unless-stopped']),
    runReady('b-none', noting('TERM')),
    ok(['create', '--name', 'b-created', '--restart', 'unless-stopped', 'busybox', 'sleep', '1000']),
    ok(['create', '--name', 'b-failure', '--restart', 'on-failure', 'busybox', 'sleep', '1000']),
  ]);
  await ok(['stop', '-t', '0', 'b-always-stopped', 'b-unless-stopped']);
  await Promise.all(['b-always', 'b-unless', 'b-none'].map(crash));
  // Only the filter's policies, and the unless-stopped container the user stopped stays down.
  const r = await tspod(['start', '--all', '--filter', 'restart-policy=always', '--filter', 'restart-policy=unless-stopped']);
  assert.is(r.code, 0, r.stderr);
  const states = Object.fromEntries(
    (await ok(['ps', '-a', '--format', '{{.Names}} {{.State}}'])).trim().split('\n').map((l) => l.split(' ')),
  );
  assert.equal(states, {
    'b-always': 'running',
    'b-unless': 'running',
    'b-always-stopped': 'running',
    'b-unless-stopped': 'exited',
    'b-none': 'exited',
    'b-created': 'running',
    'b-failure': 'created',
  });
  // The crashed ones were finalized on the way: their old mounts and runtime state are gone.
  assert.is(await inspect('b-none', '{{.State.ExitCode}}'), '255');
  assert.match(await inspect('b-none', '{{.State.Error}}'), /monitor died/);
  assert.match(await ok(['logs', 'b-always']), /^ready\nready\n$/);
  assertOneError(await tspod(['start', '--filter', 'restart-policy=always']), /--filter needs --all/, 125);
  assertOneError(await tspod(['start', '--all', '--filter', 'restart-policy=sometimes']), /invalid filter "restart-policy=sometimes"/, 125);
  assertOneError(await tspod(['start', '--all', 'b-none']), /cannot be used together/, 125);
  // Nothing left to start: nothing printed.
  assert.is(await ok(['start', '--all', '--filter', 'restart-policy=always']), '');
  await ok(['rm', '-af']);
});

test('system service install/uninstall: a unit systemd accepts, running start --all with the boot filters for this store', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tspod-units-'));
  try {
    const out = await ok(['system', 'service', 'install', '--unit-dir', dir]);
    const file = path.join(dir, 'tspod-restart.service');
    assert.is(out.split('\n')[0], file);
    const unit = readFileSync(file, 'utf8');
    const execStart = /^ExecStart=-(.*)$/m.exec(unit)?.[1];
    assert.ok(execStart, unit);
    assert.is(
      execStart,
      [process.execPath, BIN, '--root', env.store.root, '--runroot', env.store.runroot, 'start', '--all', '--filter', 'restart-policy=always', '--filter', 'restart-policy=unless-stopped'].join(' '),
    );
    assert.match(unit, /^Type=oneshot$/m);
    assert.match(unit, /^RemainAfterExit=true$/m);
    const rootless = process.geteuid!() !== 0;
    assert.match(unit, rootless ? /^WantedBy=default\.target$/m : /^WantedBy=multi-user\.target$/m);
    // systemd's own check of the unit (the user's manager wants a runtime dir of its own)
    const runtimeDir = mkdtempSync(path.join(os.tmpdir(), 'tspod-xdg-'));
    try {
      await execFileAsync('systemd-analyze', [...(rootless ? ['--user'] : []), 'verify', file], { env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir } });
    } finally {
      rmSync(runtimeDir, { recursive: true, force: true });
    }
    assert.is((await ok(['system', 'service', 'uninstall', '--unit-dir', dir])).split('\n')[0], file);
    assert.not.ok(existsSync(file));
    assertOneError(await tspod(['system', 'service', 'uninstall', '--unit-dir', dir]), /^Error: there is no .*tspod-restart\.service/, 125);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (process.geteuid!() !== 0) {
    // Rootless, by default the user's unit dir (under XDG_CONFIG_HOME, which the test store sets).
    const out = await ok(['system', 'service', 'install']);
    assert.is(out.split('\n')[0], path.join(path.dirname(env.store.configDir), 'systemd', 'user', 'tspod-restart.service'));
    assert.match(out, /systemctl --user daemon-reload && systemctl --user enable tspod-restart\.service/);
    assert.match(out, /loginctl enable-linger/);
    await ok(['system', 'service', 'uninstall']);
  }
});

test.run();
