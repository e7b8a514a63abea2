/**
 * `ps` and `logs` through the CLI with real containers in every state: Docker's columns and
 * status phrases, -a/-q/-l/-n/--no-trunc/-s, each filter, Go-template and table formats; logs of
 * running, exited and -t containers, -f until the container ends, --tail, --since/--until
 * (relative, RFC 3339 and Unix seconds), -t timestamps, stdout and stderr kept apart.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openContainerEnv, until, type ContainerEnv } from './harness/container-env.js';
import { assertOneError } from './harness/store-checks.js';

const test = suite('ps-logs');
let env: ContainerEnv;
/** the containers of the ps tests, by name: their full IDs */
const ids: Record<string, string> = {};

const ok = (args: string[]) => env.ok(args);
const tspod = (args: string[]) => env.tspod(args);

test.before(async () => {
  env = await openContainerEnv(['busybox']);
  // One after another, so that their creation order (ps's order, newest first) is known.
  ids.created = (await ok(['create', '--name', 'c-created', '-l', 'tier=db', 'busybox', 'true'])).trim();
  await ok(['run', '--name', 'c-ok', 'busybox', 'true']);
  await tspod(['run', '--name', 'c-fail', '-l', 'tier=web', 'busybox', 'sh', '-c', 'head -c 5000 /dev/zero > /written; exit 3']);
  ids.up = (await ok(['run', '-d', '--name', 'c-up', '-l', 'tier=web', '-l', 'solo', 'busybox', 'sleep', '1000'])).trim();
  for (const name of ['c-ok', 'c-fail']) ids[name.slice(2)] = (await ok(['inspect', '-f', '{{.Id}}', name])).trim();
});

test.after(async () => {
  await env?.close();
});

const short = (name: string) => ids[name].slice(0, 12);
const lines = (text: string) => text.split('\n').filter((l) => l !== '');

const UP = /^Up (Less than a second|\d+ seconds?|About a minute|\d+ minutes)$/;
const AGO = /^(Less than a second|\d+ seconds?|About a minute|\d+ minutes) ago$/;

test('ps: Docker\'s columns, aligned; running containers only; status phrases Up/Exited/Created; the command quoted', async () => {
  const out = lines(await ok(['ps']));
  assert.is(out.length, 2, out.join('\n'));
  const [header, row] = out;
  assert.equal(header.split(/ {2,}/), ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']);
  const columns = (line: string) => line.split(/ {3,}/);
  const [id, image, command, created, status, name] = columns(row);
  assert.equal([id, image, command, name], [short('up'), 'busybox', '"sleep 1000"', 'c-up']);
  assert.match(created, AGO);
  assert.match(status, UP);
  for (const [label, text] of [['IMAGE', 'busybox'], ['COMMAND', '"sleep'], ['NAMES', 'c-up']]) {
    assert.is(row.indexOf(text), header.indexOf(label), `${label} column aligned`);
  }

  const all = lines(await ok(['ps', '-a']));
  assert.is(all.length, 5);
  const statuses = all.slice(1).map((l) => columns(l).filter((c) => /^(Up|Exited|Created)/.test(c))[0]);
  assert.match(statuses[0], UP);
  assert.match(statuses[1], /^Exited \(3\) (Less than a second|\d+ seconds?|About a minute|\d+ minutes) ago$/);
  assert.match(statuses[2], /^Exited \(0\) (Less than a second|\d+ seconds?|About a minute|\d+ minutes) ago$/);
  assert.is(statuses[3], 'Created');
  assert.equal(all.slice(1).map((l) => l.split(/ +/).at(-1)), ['c-up', 'c-fail', 'c-ok', 'c-created']);
  assert.ok(all[2].includes('"sh -c head -c 5000 …"'), `Docker's cut: 19 characters and "…": ${all[2]}`);
});

test('ps -q, -a -q, -l, -n 2 (newest first, all states), --no-trunc', async () => {
  assert.is(await ok(['ps', '-q']), `${short('up')}\n`);
  assert.is(await ok(['ps', '-aq']), ['up', 'fail', 'ok', 'created'].map((n) => `${short(n)}\n`).join(''));
  assert.is(await ok(['ps', '-lq']), `${short('up')}\n`);
  assert.is(await ok(['ps', '-n', '2', '--format', '{{.Names}}']), 'c-up\nc-fail\n');
  assert.is(await ok(['ps', '--last', '3', '-q']), ['up', 'fail', 'ok'].map((n) => `${short(n)}\n`).join(''));
  assert.is(await ok(['ps', '-l', '--format', '{{.Names}}']), 'c-up\n');
  const full = lines(await ok(['ps', '-a', '--no-trunc']));
  assert.ok(full[2].startsWith(`${ids.fail}   `), full[2]);
  assert.ok(full[2].includes('"sh -c head -c 5000 /dev/zero > /written; exit 3"'), full[2]);
  assert.is(await ok(['ps', '-aq', '--no-trunc', '--filter', 'name=c-ok']), `${ids.ok}\n`);
});

test('ps -s: SIZE is what the container wrote, with the image in "virtual"', async () => {
  const out = lines(await ok(['ps', '-a', '-s']));
  assert.is(out[0].split(/ {2,}/).at(-1), 'SIZE');
  const size = (name: string) => out.find((l) => l.includes(` ${name} `) || l.endsWith(` ${name}`))!.split(/ {2,}/).at(-1)!;
  assert.match(size('c-fail'), /^5kB \(virtual \d+(\.\d+)?MB\)$/);
  assert.match(size('c-created'), /^0B \(virtual \d+(\.\d+)?MB\)$/);
  assert.match(await ok(['ps', '-a', '-s', '--filter', 'name=c-fail', '--format', '{{.Size}}']), /^5kB \(virtual/);
});

test('ps --filter: status, name (a regexp), label (key, key=value), ancestor, exited, id; same key or, different keys and', async () => {
  const names = async (...filters: string[]) => lines(await ok(['ps', '-a', '--format', '{{.Names}}', ...filters.flatMap((f) => ['--filter', f])]));
  assert.equal(await names('status=exited'), ['c-fail', 'c-ok']);
  assert.equal(await names('status=created'), ['c-created']);
  assert.equal(await names('status=running'), ['c-up']);
  assert.equal(await names('status=running', 'status=created'), ['c-up', 'c-created']);
  assert.equal(await names('name=c-o'), ['c-ok']);
  assert.equal(await names('name=^c-(up|ok)$'), ['c-up', 'c-ok']);
  assert.equal(await names('label=tier'), ['c-up', 'c-fail', 'c-created']);
  assert.equal(await names('label=tier=web'), ['c-up', 'c-fail']);
  assert.equal(await names('label=solo'), ['c-up']);
  assert.equal(await names('label=tier=web', 'status=exited'), ['c-fail']);
  assert.equal(await names('ancestor=busybox'), ['c-up', 'c-fail', 'c-ok', 'c-created']);
  assert.equal(await names('ancestor=docker.io/library/busybox:latest'), ['c-up', 'c-fail', 'c-ok', 'c-created']);
  assert.equal(await names('ancestor=debian'), []);
  assert.equal(await names('exited=0'), ['c-ok']);
  assert.equal(await names('exited=3'), ['c-fail']);
  assert.equal(await names(`id=${ids.ok.slice(0, 5)}`), ['c-ok']);
  assert.equal(await names('restart-policy=no'), ['c-up', 'c-fail', 'c-ok', 'c-created']);
  // Without -a, filters still only see running containers (Docker).
  assert.equal(lines(await ok(['ps', '--format', '{{.Names}}', '--filter', 'status=exited'])), []);
  assertOneError(await tspod(['ps', '--filter', 'colour=blue']), /^Error: invalid filter "colour=blue"/, 125);
  assertOneError(await tspod(['ps', '--filter', 'status=sleeping']), /^Error: invalid filter "status=sleeping"/, 125);
  assertOneError(await tspod(['ps', '--filter', 'status']), /^Error: invalid filter "status"/, 125);
});

test('ps --format: a Go template per container, a table with its own header, json', async () => {
  const plain = lines(await ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}']));
  assert.is(plain.length, 4);
  assert.match(plain[0], /^c-up Up /);
  assert.match(plain[1], /^c-fail Exited \(3\) /);
  assert.is(plain[3], 'c-created Created');
  const table = lines(await ok(['ps', '-a', '--format', 'table {{.ID}}\t{{.Names}}']));
  assert.equal(table, ['CONTAINER ID   NAMES', `${short('up')}   c-up`, `${short('fail')}   c-fail`, `${short('ok')}   c-ok`, `${short('created')}   c-created`]);
  assert.equal(lines(await ok(['ps', '--format', '{{.ID}} {{.Image}} {{.Command}} {{.State}}'])), [`${short('up')} busybox "sleep 1000" running`]);
  // Docker: one JSON object per line
  const json = lines(await ok(['ps', '-a', '--format', 'json'])).map((l) => JSON.parse(l));
  assert.equal(json.map((c) => c.Names), ['c-up', 'c-fail', 'c-ok', 'c-created']);
  assert.is(json[1].ID, short('fail'));
  assertOneError(await tspod(['ps', '--format', '{{.Nope'] ), /^Error: /, 125);
});

test('logs of an exited container: stdout and stderr apart, --tail N/0/all, -n', async () => {
  await env.tspod(['run', '--name', 'l-lines', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2']);
  const all = await tspod(['logs', 'l-lines']);
  assert.equal([all.code, all.stdout, all.stderr], [0, 'line1\nline2\nline3\nline4\nline5\n', 'oops\n']);
  const tail = await tspod(['logs', '--tail', '3', 'l-lines']);
  assert.equal([tail.stdout, tail.stderr], ['line4\nline5\n', 'oops\n']);
  assert.is((await tspod(['logs', '-n', '1', 'l-lines'])).stderr, 'oops\n');
  assert.equal(await tspod(['logs', '--tail', '0', 'l-lines']).then((r) => [r.stdout, r.stderr]), ['', '']);
  assert.is((await tspod(['logs', '--tail', 'all', 'l-lines'])).stdout, all.stdout);
  assertOneError(await tspod(['logs', '--tail', 'some', 'l-lines']), /^Error: invalid --tail "some"/, 125);
  assertOneError(await tspod(['logs', 'l-nothing']), /^Error: no such container: l-nothing$/, 1);
});

test('logs -t and --since/--until: RFC 3339 with nanoseconds, Unix seconds, relative durations', async () => {
  await ok(['run', '--name', 'l-timed', 'busybox', 'sh', '-c', 'echo early; sleep 3; echo late']);
  const stamped = lines(await ok(['logs', '-t', 'l-timed']));
  assert.is(stamped.length, 2);
  const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(?:Z|[+-]\d\d:\d\d)) (early|late)$/;
  const [early, late] = stamped.map((l) => {
    const m = TIMESTAMP.exec(l);
    assert.ok(m, `a timestamped line: ${l}`);
    return Date.parse(m[1]);
  });
  assert.ok(late - early >= 2_500, 'the lines are seconds apart');
  const middle = new Date((early + late) / 2);
  assert.is(await ok(['logs', '--since', middle.toISOString(), 'l-timed']), 'late\n');
  assert.is(await ok(['logs', '--until', middle.toISOString(), 'l-timed']), 'early\n');
  assert.is(await ok(['logs', '--since', String(middle.getTime() / 1000), 'l-timed']), 'late\n');
  // Milliseconds here, nanoseconds in the log: the range is widened by one millisecond at its end.
  assert.is(await ok(['logs', '--since', new Date(early).toISOString(), '--until', new Date(late + 1).toISOString(), 'l-timed']), 'early\nlate\n');
  assert.is(await ok(['logs', '--since', '1h', 'l-timed']), 'early\nlate\n');
  assert.is(await ok(['logs', '--since', '1h30m', '--until', '1h', 'l-timed']), '');
  assert.is(await ok(['logs', '--until', '10m', 'l-timed']), '');
  assert.match(await ok(['logs', '-t', '--since', middle.toISOString(), 'l-timed']), /^\S+ late\n$/);
  assertOneError(await tspod(['logs', '--since', 'yesterday', 'l-timed']), /^Error: invalid --since "yesterday"/, 125);
});

test('logs -f of a running container shows new lines as they come and ends when the container stops', async () => {
  await ok(['run', '-d', '--name', 'l-follow', 'busybox', 'sh', '-c', 'trap "echo second" USR1; echo first; while :; do sleep 1; done']);
  const follower = env.spawn(['logs', '-f', 'l-follow']);
  let out = '';
  follower.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => follower.on('close', resolve));
  try {
    await until('logs -f shows the first line', () => (out === 'first\n' ? true : undefined));
    await ok(['kill', '-s', 'USR1', 'l-follow']);
    await until('logs -f shows the line written after it started', () => (out === 'first\nsecond\n' ? true : undefined));
    assert.is(follower.exitCode, null, 'logs -f goes on while the container runs');
    await ok(['stop', '-t', '1', 'l-follow']);
    assert.is(await exited, 0);
    assert.is(out, 'first\nsecond\n');
  } finally {
    follower.kill('SIGKILL');
  }
  // -f of an exited container prints what there is and ends.
  assert.is(await ok(['logs', '-f', '--tail', '1', 'l-follow']), 'second\n');
});

test('logs of a -t container: one stream, terminal line ends (Docker)', async () => {
  await ok(['run', '-t', '--name', 'l-tty', 'busybox', 'sh', '-c', 'echo tty-out; echo tty-err >&2']);
  const r = await tspod(['logs', 'l-tty']);
  assert.equal([r.code, r.stdout, r.stderr], [0, 'tty-out\r\ntty-err\r\n', '']);
  assert.is(await ok(['logs', '--tail', '1', 'l-tty']), 'tty-err\r\n');
});

test.run();
