/**
 * top (the host's ps restricted to the container's processes; Podman's descriptors from /proc)
 * and stats (--no-stream, --format, --no-trunc, -a, streaming until SIGINT; cgroups as root,
 * /proc rootless with its note and -- for what cannot be measured), with their errors.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN } from './harness/cli.js';
import { openContainerEnv, until, type ContainerEnv } from './harness/container-env.js';
import { assertOneError } from './harness/store-checks.js';
import { containerPids } from '../src/namespaces/processes.js';

const test = suite('top-stats');
let env: ContainerEnv;
const rootless = process.geteuid!() !== 0;
let initPid = 0;

test.before(async () => {
  env = await openContainerEnv(['busybox']);
  // A busy child, a sleeping one, and a process running as the image's user "app" (uid 1000).
  await env.ok(['run', '-d', '--name', 'busy', 'busybox', 'sh', '-c', 'while :; do :; done & sleep 1000 & echo ready; wait']);
  await env.ok(['run', '-d', '--name', 'app', '--user', '1000:1000', 'busybox', 'sleep', '1000']);
  await env.ok(['create', '--name', 'idle', 'busybox', 'true']);
  await until('busy is ready', async () => ((await env.ok(['logs', 'busy'])).includes('ready') ? true : undefined));
  initPid = Number((await env.ok(['inspect', '-f', '{{.State.Pid}}', 'busy'])).trim());
});

test.after(async () => {
  await env?.close();
});

const ok = (args: string[]) => env.ok(args);
const table = (text: string) => text.trimEnd().split('\n').map((l) => l.trim().split(/\s{2,}/));

test("top: Docker's ps -ef columns, exactly the container's processes (host pids)", async () => {
  const out = await ok(['top', 'busy']);
  const [header, ...rows] = table(out);
  assert.equal(header, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
  const pids = containerPids(initPid);
  assert.is(pids.length, 3, 'sh, the busy loop (a forked sh), sleep');
  assert.equal(rows.map((r) => Number(r[1])).sort(), [...pids].sort());
  assert.ok(rows.some((r) => r[7] === 'sleep 1000'), out);
  assert.ok(rows.some((r) => r[7].startsWith('sh -c while :; do :; done')), 'the command keeps its spaces');
});

test('top with ps options: aux, -o pid,comm; a format without PID and a renamed PID are errors', async () => {
  const aux = table(await ok(['top', 'busy', 'aux']));
  assert.equal(aux[0].slice(0, 3), ['USER', 'PID', '%CPU']);
  assert.is(aux.length, 4);
  const o = table(await ok(['container', 'top', 'busy', '-o', 'pid,comm']));
  assert.equal(o[0], ['PID', 'COMMAND']);
  assert.equal(o.slice(1).map((r) => r[1]).sort(), ['sh', 'sh', 'sleep']);
  assertOneError(await env.tspod(['top', 'busy', '-o', 'comm']), /^Error: couldn't find PID field in ps output/);
  assertOneError(await env.tspod(['top', 'busy', '-o', 'user=PIDX,pid']), /^Error: specifying "user=PIDX,pid" is not allowed$/);
});

test("top with Podman's descriptors: the container's view of pids and users, h* the host's", async () => {
  const rows = table(await ok(['top', 'busy', 'user', 'pid', 'ppid', 'hpid', 'huser', 'group', 'state', 'tty', 'vsz', 'comm']));
  assert.equal(rows[0], ['USER', 'PID', 'PPID', 'HPID', 'HUSER', 'GROUP', 'STATE', 'TTY', 'VSZ', 'COMMAND']);
  assert.equal(rows[1].slice(0, 4), ['root', '1', '0', String(initPid)], 'PID 1 first, its host pid');
  assert.is(rows.length, 4);
  for (const r of rows.slice(1)) {
    assert.is(r[0], 'root');
    assert.is(r[5], 'root');
    assert.is(r[7], '?');
    assert.match(r[8], /^\d+$/);
    if (r[1] !== '1') assert.is(r[2], '1', 'children of PID 1');
  }
  assert.is(rows[1][4], os.userInfo().username);
  // Comma-separated, AIX codes, and a process running as the image's user
  const app = table(await ok(['top', 'app', 'user,%p,huser,args,etime,pcpu,time,seccomp,stime']));
  assert.equal(app[0], ['USER', 'PID', 'HUSER', 'COMMAND', 'ELAPSED', '%CPU', 'TIME', 'SECCOMP', 'STIME']);
  assert.equal(app[1].slice(0, 2), ['app', '1']);
  assert.is(app[1][3], 'sleep 1000');
  assert.match(app[1][4], /^[\dhm.]+s$/, 'a Go duration');
  assert.match(app[1][5], /^\d+\.\d{3}$/);
  assert.match(app[1][8], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \w+$/);
  if (rootless) assert.not.equal(app[1][2], app[1][0], 'a subordinate id on the host');
});

test('top errors: not running, not found', async () => {
  assertOneError(await env.tspod(['top', 'idle']), /^Error: container idle is not running: start it first$/);
  assertOneError(await env.tspod(['top', 'nope']), /^Error: no such container: nope$/, 1);
});

test("stats --no-stream: Docker's columns; the busy container uses CPU; what rootless cannot measure is --, with a note", async () => {
  const r = await env.tspod(['stats', '--no-stream']);
  assert.is(r.code, 0, r.stderr);
  const [header, ...rows] = table(r.stdout);
  assert.equal(header, ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS']);
  assert.equal(rows.map((x) => x[1]).sort(), ['app', 'busy'], 'running containers only');
  const busy = rows.find((x) => x[1] === 'busy')!;
  assert.match(busy[0], /^[0-9a-f]{12}$/);
  assert.ok(Number(busy[2].replace('%', '')) > 5, `a busy loop shows CPU use: ${busy[2]}`);
  assert.is(busy[7], '3');
  if (rootless) {
    assert.match(busy[3], /^[\d.]+(B|KiB|MiB) \/ --$/);
    assert.is(busy[4], '--');
    assert.is(busy[6], '-- / --');
    assert.match(r.stderr, /^Note: rootless on cgroup v1 .*cannot be measured and show as --\n$/);
  } else {
    assert.match(busy[3], /^[\d.]+(B|KiB|MiB) \/ [\d.]+(MiB|GiB|TiB)$/);
    assert.match(busy[4], /^\d+\.\d\d%$/);
    assert.match(busy[6], /^[\d.]+k?B \/ [\d.]+k?B$/);
    assert.is(r.stderr, '');
  }
  assert.match(busy[5], /^[\d.]+k?B \/ [\d.]+k?B$/);
});

test('stats: names, -a, --no-trunc, --format json and templates; not found', async () => {
  const id = (await ok(['inspect', '-f', '{{.Id}}', 'idle'])).trim();
  const all = table(await ok(['stats', '--no-stream', '-a', '--no-trunc']));
  const idle = all.find((x) => x[1] === 'idle')!;
  assert.equal(idle, [id, 'idle', '0.00%', '0B / 0B', '0.00%', '0B / 0B', '0B / 0B', '0']);
  const json = (await ok(['stats', '--no-stream', '--format', 'json', 'app'])).trim().split('\n');
  assert.is(json.length, 1);
  const o = JSON.parse(json[0]) as Record<string, string>;
  assert.equal(Object.keys(o).sort(), ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs']);
  assert.is(o.Name, 'app');
  assert.is(o.PIDs, '1');
  assert.is(await ok(['container', 'stats', '--no-stream', '--format', '{{.Container}}:{{.Name}}:{{.PIDs}}', 'busy', 'app']), 'busy:busy:3\napp:app:1\n');
  assertOneError(await env.tspod(['stats', '--no-stream', 'nope']), /^Error: no such container: nope$/, 1);
});

test('stats without --no-stream: refreshes (clearing the screen) until SIGINT', async () => {
  const child = spawn(process.execPath, ['--', BIN, '--root', env.store.root, '--runroot', env.store.runroot, 'stats', 'app'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await until('two tables', () => (out.split('\u001b[2J\u001b[H').length > 2 ? true : undefined), 60_000);
  child.kill('SIGINT');
  assert.is(await exited, 0);
  for (const screen of out.split('\u001b[2J\u001b[H').slice(1)) assert.match(screen, /^CONTAINER ID +NAME .*\n[0-9a-f]{12} +app /);
});

test.run();
