/**
 * The events log and `tspod events`: each lifecycle change recorded once by the command that
 * caused it (die once per exit, whoever cleans up: a foreground run, conmon's exit command, stop,
 * rm), image pull/tag/untag/delete; filters, --since/--until, --format; following new events
 * live until SIGINT/SIGTERM; rotation keeps the log bounded and is read (and followed) across.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { recordEvent } from '../src/core/events.js';
import { resolvePaths } from '../src/store/paths.js';
import { BIN } from './harness/cli.js';
import { openContainerEnv, until, type ContainerEnv } from './harness/container-env.js';
import { assertOneError } from './harness/store-checks.js';

const test = suite('events');
const execFileAsync = promisify(execFile);
let env: ContainerEnv;

test.before(async () => {
  env = await openContainerEnv(['busybox']);
});

test.after(async () => {
  await env?.close();
});

const ok = (args: string[]) => env.ok(args);
/** The recorded events so far (--until now), one output line each. */
const past = async (...args: string[]) => (await ok(['events', '--until', '0s', ...args])).split('\n').filter((l) => l !== '');
/** Action and its exitCode/signal attribute of each event of `container`, in order. */
const actionsOf = (container: string) => past('--filter', `container=${container}`, '--format', '{{.Action}}{{with .Actor.Attributes.exitCode}}:{{.}}{{end}}{{with .Actor.Attributes.signal}}:{{.}}{{end}}');

/** Output of a long-running `tspod` child as it comes. */
function collect(child: ChildProcess): { out: () => string; err: () => string; exit: Promise<number | null> } {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { out: () => out, err: () => err, exit };
}

test('a detached container: create, start, kill (signal), die (exit code), stop, restart, rename, destroy; each once', async () => {
  const id = (await ok(['create', '--name', 'ev1', 'busybox', 'sleep', '1000'])).trim();
  await ok(['start', 'ev1']);
  // PID 1 without a handler ignores USR1: recorded, and it keeps running
  await ok(['kill', '-s', 'USR1', 'ev1']);
  await ok(['restart', '-t', '1', 'ev1']);
  await ok(['stop', '-t', '1', 'ev1']);
  await ok(['rename', 'ev1', 'ev2']);
  await ok(['start', 'ev2']);
  await ok(['kill', 'ev2']);
  // conmon's exit command and wait race to notice the exit: one die all the same
  await ok(['wait', 'ev2']);
  await ok(['rm', 'ev2']);
  assert.equal(await actionsOf(id), [
    'create',
    'start',
    'kill:10',
    'die:137',
    'stop',
    'start',
    'restart',
    'die:137',
    'stop',
    'rename',
    'start',
    'kill:9',
    'die:137',
    'destroy',
  ]);
  assert.equal(await past('--filter', `container=${id}`, '--filter', 'event=rename', '--format', '{{.Actor.Attributes.oldName}} {{.Actor.Attributes.name}}'), ['ev1 ev2']);
});

test('a foreground run records its exit once (no exit command), --rm its destroy; rm -f and prune', async () => {
  const r = await env.tspod(['run', '--name', 'fg', 'busybox', 'sh', '-c', 'exit 3']);
  assert.is(r.code, 3, r.stderr);
  assert.equal(await actionsOf('fg'), ['create', 'start', 'die:3']);
  await ok(['run', '--rm', '--name', 'fgrm', 'busybox', 'true']);
  assert.equal(await actionsOf('fgrm'), ['create', 'start', 'die:0', 'destroy']);
  // detached --rm: conmon's exit command records the exit and the removal
  await ok(['run', '-d', '--rm', '--name', 'bgrm', 'busybox', 'true']);
  await until('bgrm is destroyed', async () => ((await actionsOf('bgrm')).includes('destroy') ? true : undefined));
  assert.equal(await actionsOf('bgrm'), ['create', 'start', 'die:0', 'destroy']);
  await ok(['run', '-d', '--name', 'forced', 'busybox', 'sleep', '1000']);
  await ok(['rm', '-f', 'forced']);
  assert.equal(await actionsOf('forced'), ['create', 'start', 'die:137', 'destroy']);
  await ok(['container', 'prune', '-f']);
  assert.equal(await actionsOf('fg'), ['create', 'start', 'die:3', 'destroy']);
  assert.is((await past('--filter', 'type=container', '--filter', 'event=prune')).length, 1);
});

test('image events: pull, tag, untag, delete (rmi), each once', async () => {
  const imageId = (await ok(['inspect', '-f', '{{.Id}}', 'busybox'])).trim();
  const images = () => past('--filter', 'type=image', '--format', '{{.Action}} {{.Actor.Attributes.name}} {{.ID}}');
  const before = (await images()).length;
  await ok(['tag', 'busybox', 'mine:1']);
  await ok(['rmi', 'mine:1']);
  await ok(['tag', 'busybox', 'mine:2']);
  await ok(['rmi', 'busybox']);
  await ok(['rmi', 'mine:2']);
  await ok(['pull', '-q', 'busybox']);
  assert.equal((await images()).slice(before), [
    `tag mine:1 ${imageId}`,
    `untag mine:1 ${imageId}`,
    `tag mine:2 ${imageId}`,
    `untag busybox:latest ${imageId}`,
    `untag mine:2 ${imageId}`,
    `delete mine:2 ${imageId}`,
    `pull busybox:latest ${imageId}`,
  ]);
});

test('a tag moved to another image (tag, commit) is an untag of the image that had it', async () => {
  const busybox = (await ok(['inspect', '-f', '{{.Id}}', 'busybox'])).trim();
  await ok(['run', '--name', 'to-commit', 'busybox', 'sh', '-c', 'echo changed > /changed']);
  const since = (Date.now() / 1000).toFixed(3);
  await ok(['tag', 'busybox', 'moving:1']);
  const committed = (await ok(['commit', 'to-commit', 'moving:1'])).trim();
  await ok(['tag', 'busybox', 'moving:1']);
  const events = (await ok(['events', '--since', since, '--until', '0s', '--filter', 'type=image', '--format', '{{.Action}} {{.Actor.Attributes.name}} {{.ID}}'])).trim().split('\n');
  assert.equal(events, [
    `tag moving:1 ${busybox}`,
    `untag moving:1 ${busybox}`,
    `untag moving:1 ${committed}`,
    `tag moving:1 ${busybox}`,
  ]);
  await ok(['rm', 'to-commit']);
  await ok(['rmi', committed, 'moving:1']);
});

test('the default line is Docker\'s; --format: a Go template over Docker\'s and Podman\'s fields, json as Docker\'s messages', async () => {
  const id = (await ok(['create', '--name', 'fmt', '--label', 'team=blue', 'busybox', 'true'])).trim();
  const [line] = await past('--filter', 'container=fmt');
  assert.match(line, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}(Z|[+-]\\d\\d:\\d\\d) container create ${id} \\(image=busybox, name=fmt, org\\.opencontainers\\.image\\.title=tspod fixture busybox, org\\.tspod\\.fixture=busybox, team=blue\\)$`));
  const [fields] = await past('--filter', 'container=fmt', '--format', '{{.Type}}|{{.Action}}|{{.Status}}|{{.ID}}|{{.Actor.ID}}|{{.From}}|{{.Name}}|{{.Image}}|{{.Actor.Attributes.team}}|{{.Time}}|{{.TimeNano}}');
  const [type, action, status, shown, actor, from, name, image, team, time, timeNano] = fields.split('|');
  assert.equal([type, action, status, shown, actor, from, name, image, team], ['container', 'create', 'create', id, id, 'busybox', 'fmt', 'busybox', 'blue']);
  assert.match(timeNano, /^\d{19}$/);
  assert.is(time, timeNano.slice(0, 10));
  const [json] = await past('--filter', 'container=fmt', '--format', 'json');
  const message = JSON.parse(json) as Record<string, unknown>;
  assert.equal(message, {
    status: 'create',
    id,
    from: 'busybox',
    Type: 'container',
    Action: 'create',
    Actor: { ID: id, Attributes: { image: 'busybox', name: 'fmt', 'org.opencontainers.image.title': 'tspod fixture busybox', 'org.tspod.fixture': 'busybox', team: 'blue' } },
    scope: 'local',
    time: Number(time),
    timeNano: message.timeNano,
  });
  // the digits as printed (JSON.parse rounds them)
  assert.ok(json.endsWith(`"timeNano":${timeNano}}`), json);
  await ok(['rm', 'fmt']);
});

test('filters: type, event (Podman\'s names too), container by name and ID prefix, image, label; same key or, different keys and', async () => {
  const id = (await ok(['create', '--name', 'flt', '--label', 'team=red', 'busybox', 'true'])).trim();
  await ok(['rm', 'flt']);
  const all = await past('--format', '{{.Type}} {{.Action}}');
  assert.ok(all.some((l) => l.startsWith('image ')) && all.some((l) => l.startsWith('container ')));
  const types = await past('--filter', 'type=image', '--format', '{{.Type}}');
  assert.ok(types.length > 0 && types.every((t) => t === 'image'));
  assert.is(types.length, all.filter((l) => l.startsWith('image ')).length);
  const dieOrDestroy = await past('--filter', 'event=die', '--filter', 'event=destroy', '--format', '{{.Action}}');
  assert.ok(dieOrDestroy.includes('die') && dieOrDestroy.includes('destroy'));
  assert.ok(dieOrDestroy.every((a) => a === 'die' || a === 'destroy'));
  assert.equal(await past('--filter', 'event=died', '--format', '{{.ID}}'), await past('--filter', 'event=die', '--format', '{{.ID}}'));
  const removed = await past('--filter', 'event=remove', '--format', '{{.Type}} {{.Action}}');
  assert.equal([...new Set(removed)].sort(), ['container destroy', 'image delete']);
  const byName = await past('--filter', 'container=flt', '--format', '{{.ID}} {{.Action}}');
  assert.equal(byName, [`${id} create`, `${id} destroy`]);
  assert.equal(await past('--filter', `container=${id.slice(0, 10)}`, '--format', '{{.ID}} {{.Action}}'), byName);
  assert.equal(await past('--filter', 'container=flt', '--filter', 'event=destroy', '--format', '{{.Action}}'), ['destroy']);
  assert.equal(await past('--filter', 'label=team=red', '--format', '{{.Name}} {{.Action}}'), ['flt create', 'flt destroy']);
  assert.equal(await past('--filter', 'label=team', '--filter', 'event=create', '--format', '{{.Name}}'), ['fmt', 'flt']);
  assert.equal(await past('--filter', 'label=team=green'), []);
  // image=: image events by name or ID prefix, container events by the image they run
  const imageId = (await ok(['inspect', '-f', '{{.Id}}', 'busybox'])).trim();
  const byImage = await past('--filter', 'image=busybox', '--format', '{{.Type}}');
  assert.ok(byImage.includes('image') && byImage.includes('container'));
  assert.equal(await past('--filter', 'image=docker.io/library/busybox:latest', '--format', '{{.Type}}'), byImage);
  const byId = await past('--filter', `image=${imageId.slice(7, 19)}`, '--format', '{{.Type}} {{.ID}}');
  assert.ok(byId.length > 0 && byId.every((l) => l === `image ${imageId}`));
  assert.equal(await past('--filter', 'image=debian'), []);
});

test('--since and --until: RFC 3339 with nanoseconds, Unix seconds, durations; an --until ahead follows until then', async () => {
  const times = await past('--format', '{{.TimeNano}}');
  assert.ok(times.length >= 3);
  const nano = (i: number) => times.at(i)!;
  const rfc = (await past('--format', '{{.TimeNano}} {{.Action}}', '--since', `${nano(1).slice(0, 10)}.${nano(1).slice(10)}`)).length;
  assert.is(rfc, times.length - 1, '--since as Unix seconds with nine digits includes that event');
  const [firstLine] = await past();
  const firstTime = firstLine.split(' ')[0];
  const count = async (...args: string[]) => (await ok(['events', ...args])).split('\n').filter(Boolean).length;
  assert.is(await count('--until', firstTime), 1, '--until the first event\'s own time: that one event');
  assert.is(await count('--since', firstTime, '--until', '0s'), times.length);
  assert.is(await count('--since', '1h', '--until', '0s'), times.length);
  assert.is(await count('--until', '1'), 0, '--until 1970');
  assert.is(await count('--since', '0s', '--until', '0s'), 0, 'nothing since now');
  // an --until in the future: prints what is there, follows, and ends by itself at that time (exit 0)
  const r = await env.tspod(['events', '--until', '2s', '--filter', 'container=fg']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.split('\n').filter(Boolean).length, 4);
});

test('follows new events live until SIGINT or SIGTERM (exit 0); system events is the same command', async () => {
  for (const [args, signal] of [
    [['events'], 'SIGINT'],
    [['system', 'events'], 'SIGTERM'],
  ] as const) {
    const name = `live-${signal}`;
    const child = env.spawn([...args, '--filter', `container=${name}`, '--format', '{{.Action}} {{.Name}}']);
    const output = collect(child);
    await ok(['run', '-d', '--name', name, 'busybox', 'true']);
    // the exit is noticed by conmon's exit command, another process than the one following
    await until(`${signal}: the die of ${name} is shown`, () => (output.out().includes(`die ${name}`) ? true : undefined));
    assert.equal(output.out().split('\n').filter(Boolean), [`create ${name}`, `start ${name}`, `die ${name}`]);
    child.kill(signal);
    assert.is(await output.exit, 0, output.err());
    assert.is(output.err(), '');
    await ok(['rm', name]);
  }
});

/** A throwaway store directory for events recorded in this process. */
function scratchPaths() {
  const base = mkdtempSync(path.join(os.tmpdir(), 'tspod-events-'));
  // the store lock (taken to rotate) lives in the root
  mkdirSync(path.join(base, 'root'));
  return { base, paths: resolvePaths({ root: path.join(base, 'root'), runroot: path.join(base, 'run') }) };
}

const eventsCli = (paths: { root: string; runroot: string }, args: string[]) =>
  execFileAsync(process.execPath, ['--', BIN, '--root', paths.root, '--runroot', paths.runroot, 'events', ...args]);

test('rotation keeps the log bounded, also with writers in parallel, and events reads across the rotated file', async () => {
  const { base, paths } = scratchPaths();
  const limit = 3000;
  const dir = path.join(paths.runroot, 'events');
  const events = path.join(fileURLToPath(import.meta.url), '../../src/core/events.js');
  try {
    // four processes recording 150 events each at once
    const writer = (n: number) =>
      execFileAsync(
        process.execPath,
        ['--input-type=module', '-e', `const { recordEvent } = await import(${JSON.stringify(events)}); for (let i = 0; i < 150; i++) await recordEvent({ paths: ${JSON.stringify(paths)} }, { type: 'system', action: 'test', id: 'w${n}-' + i });`],
        { env: { ...process.env, TSPOD_EVENTS_MAX_BYTES: String(limit) } },
      );
    await Promise.all([0, 1, 2, 3].map(writer));
    // events.log is gone for a moment when the last event rotated it
    assert.ok(readdirSync(dir).includes('events.log.1'));
    assert.equal(readdirSync(dir).filter((f) => f !== 'events.log' && f !== 'events.log.1'), []);
    const lineMax = 200;
    for (const file of readdirSync(dir)) {
      const size = statSync(path.join(dir, file)).size;
      // each writer may have appended a line before one of them rotated
      assert.ok(size <= limit + 4 * lineMax, `${file}: ${size} bytes`);
      for (const line of readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean)) JSON.parse(line);
    }
    const linesIn = (file: string) => (existsSync(path.join(dir, file)) ? readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean).length : 0);
    const inFiles = linesIn('events.log') + linesIn('events.log.1');
    const { stdout } = await eventsCli(paths, ['--until', '0s', '--format', '{{.ID}}']);
    const ids = stdout.split('\n').filter(Boolean);
    assert.is(ids.length, inFiles, 'every event of both files');
    assert.ok(ids.length > linesIn('events.log'));
    // each writer's events in order, the latest of each still there
    for (const n of [0, 1, 2, 3]) {
      const own = ids.filter((id) => id.startsWith(`w${n}-`)).map((id) => Number(id.slice(3)));
      assert.equal(own, own.map((_, i) => 150 - own.length + i), `writer ${n}`);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test('following survives rotations: every new event once, in order', async () => {
  const { base, paths } = scratchPaths();
  const saved = process.env.TSPOD_EVENTS_MAX_BYTES;
  process.env.TSPOD_EVENTS_MAX_BYTES = '4000';
  const child = execFile(process.execPath, ['--', BIN, '--root', paths.root, '--runroot', paths.runroot, 'events', '--format', '{{.ID}}']);
  const output = collect(child);
  try {
    // once it shows this one, it follows (before, two rotations could drop what it had not read yet)
    await recordEvent({ paths }, { type: 'system', action: 'test', id: 'ready' });
    await until('events runs', () => (output.out().includes('ready\n') ? true : undefined), 30_000);
    const count = 200;
    for (let i = 0; i < count; i++) {
      await recordEvent({ paths }, { type: 'system', action: 'test', id: `f-${i}` });
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    assert.ok(statSync(path.join(paths.runroot, 'events', 'events.log.1')).size > 0, 'rotated while followed');
    await until('the last event is shown', () => (output.out().includes(`f-${count - 1}\n`) ? true : undefined), 30_000);
    assert.equal(output.out().split('\n').filter(Boolean), ['ready', ...Array.from({ length: count }, (_, i) => `f-${i}`)]);
    child.kill('SIGINT');
    assert.is(await output.exit, 0, output.err());
  } finally {
    child.kill('SIGKILL');
    if (saved === undefined) delete process.env.TSPOD_EVENTS_MAX_BYTES;
    else process.env.TSPOD_EVENTS_MAX_BYTES = saved;
    rmSync(base, { recursive: true, force: true });
  }
});

test('bad input: one line, exit 125, nothing printed', async () => {
  const cases: [string[], RegExp][] = [
    [['--filter', 'nonsense'], /invalid filter "nonsense"/],
    [['--filter', 'color=red'], /invalid filter "color=red": use KEY=VALUE with KEY one of type, event, container/],
    [['--filter', 'type=boat'], /invalid filter "type=boat": type is one of container, image/],
    [['--filter', 'event='], /invalid filter "event="/],
    [['--since', 'yesterday'], /invalid --since "yesterday"/],
    [['--until', '2026-13-45T99:00:00Z'], /invalid --until/],
    [['--format', '{{.Action'], /template: invalid format/],
  ];
  for (const [args, re] of cases) assertOneError(await env.tspod(['events', ...args]), re);
});

test.run();
