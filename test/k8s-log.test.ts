/**
 * Reading conmon's k8s-file logs: records, partial lines, streams, timestamps, --tail (read
 * backwards, across chunk boundaries), --since/--until, follow until the container exits, and a
 * log written by a real conmon.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { displayTime, parseLogRecord, readLog, type ReadLogOptions } from '../src/core/k8s-log.js';
import { waitForExit, readExitCode } from '../src/namespaces/conmon.js';
import { runtimeDelete, runtimeStart } from '../src/namespaces/oci-runtime.js';
import { launch, openLab, type Lab } from './harness/bundle.js';

const test = suite('k8s-log');
const dir = mkdtempSync(path.join(os.tmpdir(), 'tspod-k8s-log-'));
let serial = 0;

test.after(() => rmSync(dir, { recursive: true, force: true }));

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

const BASE = Date.parse('2024-05-06T07:08:09Z');

/** A record as conmon writes it, `second` seconds after BASE. */
function record(second: number, stream: 'stdout' | 'stderr', text: string, tag: 'F' | 'P' = 'F'): string {
  const iso = new Date(BASE + second * 1000).toISOString().slice(0, 19);
  return `${iso}.123456789+00:00 ${stream} ${tag} ${text}\n`;
}

function logFile(...records: string[]): string {
  const file = path.join(dir, `log${serial++}`);
  writeFileSync(file, records.join(''));
  return file;
}

async function read(file: string, options: Partial<ReadLogOptions> = {}): Promise<{ stdout: string; stderr: string; both: string }> {
  const both = new Sink();
  const stdout = new Sink();
  const stderr = new Sink();
  // One sink for both shows the order; separate sinks show the split.
  await readLog(file, { follow: false, timestamps: false, ...options }, { stdout: both, stderr: both });
  await readLog(file, { follow: false, timestamps: false, ...options }, { stdout, stderr });
  return { stdout: stdout.text, stderr: stderr.text, both: both.text };
}

test('parseLogRecord: conmon\'s format, with nanoseconds and zone; not-records are undefined', () => {
  const r = parseLogRecord('2024-05-06T07:08:09.000000042+02:00 stderr P a  b ')!;
  assert.equal(r, { time: '2024-05-06T07:08:09.000000042+02:00', ns: BigInt(Date.parse('2024-05-06T05:08:09Z')) * 1_000_000n + 42n, stream: 'stderr', complete: false, text: 'a  b ' });
  assert.is(parseLogRecord('2024-05-06T07:08:09.5Z stdout F ')!.text, '');
  assert.is(parseLogRecord('2024-05-06T07:08:09.5Z stdout F')!.text, '');
  assert.is(displayTime(parseLogRecord('2024-05-06T07:08:09.5+00:00 stdout F x')!), '2024-05-06T07:08:09.500000000Z');
  assert.is(displayTime(parseLogRecord('2024-05-06T07:08:09.5-05:00 stdout F x')!), '2024-05-06T07:08:09.500000000-05:00');
  for (const bad of ['', 'hello', '2024-05-06T07:08:09Z stdin F x', '2024-05-06T07:08:09Z stdout X x', 'x 2024-05-06T07:08:09Z stdout F x']) {
    assert.is(parseLogRecord(bad), undefined, bad);
  }
});

test('streams split, order kept, partial records joined into their line', async () => {
  const file = logFile(
    record(0, 'stdout', 'one'),
    record(1, 'stderr', 'err '),
    record(1, 'stdout', 'two '),
    record(2, 'stderr', 'piece', 'P'),
    record(2, 'stdout', 'parts', 'P'),
    record(3, 'stdout', ' more', 'P'),
    record(3, 'stderr', ' end'),
    record(4, 'stdout', ' done'),
    'garbage line\n',
    record(5, 'stdout', 'tail without newline', 'P'),
  );
  const out = await read(file);
  assert.is(out.stdout, 'one\ntwo \nparts more done\ntail without newline');
  assert.is(out.stderr, 'err \npiece end\n');
  assert.is(out.both, 'one\nerr \ntwo \npieceparts more end\n done\ntail without newline');
});

test('timestamps: one per line (the first piece\'s), Podman\'s format', async () => {
  const file = logFile(record(0, 'stdout', 'a', 'P'), record(1, 'stdout', 'b'), record(2, 'stdout', 'c'));
  const { stdout } = await read(file, { timestamps: true });
  assert.is(stdout, '2024-05-06T07:08:09.123456789Z ab\n2024-05-06T07:08:11.123456789Z c\n');
});

test('tail: the last N lines; partial pieces belong to their line; an unfinished last line counts', async () => {
  const file = logFile(
    record(0, 'stdout', 'l1'),
    record(1, 'stdout', 'l2a', 'P'),
    record(1, 'stdout', 'l2b'),
    record(2, 'stderr', 'l3'),
    record(3, 'stdout', 'l4'),
  );
  assert.is((await read(file, { tail: 1 })).both, 'l4\n');
  assert.is((await read(file, { tail: 2 })).both, 'l3\nl4\n');
  assert.is((await read(file, { tail: 3 })).both, 'l2al2b\nl3\nl4\n');
  assert.is((await read(file, { tail: 4 })).both, 'l1\nl2al2b\nl3\nl4\n');
  assert.is((await read(file, { tail: 100 })).both, 'l1\nl2al2b\nl3\nl4\n');
  assert.is((await read(file, { tail: 0 })).both, '');
  assert.is((await read(file, { tail: -1 })).both, 'l1\nl2al2b\nl3\nl4\n');
  appendFileSync(file, record(4, 'stdout', 'open', 'P'));
  assert.is((await read(file, { tail: 1 })).both, 'open');
  assert.is((await read(file, { tail: 2 })).both, 'l4\nopen');
});

/** Podman's tail, on the whole file: the records of the last n lines, as text in file order. */
function referenceTail(records: string[], n: number): string {
  const kept: string[] = [];
  let counted = 0;
  for (let i = records.length - 1; i >= 0; i--) {
    const complete = records[i].split(' ')[2] === 'F';
    if (complete || i === records.length - 1) counted++;
    if (counted > n) break;
    kept.unshift(records[i]);
  }
  return kept.map((r) => r.split(' ').slice(3).join(' ').replace(/\n$/, r.split(' ')[2] === 'F' ? '\n' : '')).join('');
}

test('tail reads backwards across chunk boundaries; pieces and lines as Podman counts them', async () => {
  const long = 'x'.repeat(9000);
  const records: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const tag = i % 7 === 3 || i % 11 === 5 ? 'P' : 'F';
    records.push(record(i % 60, 'stdout', `${i} ${i % 50 === 0 ? long : ''}`, tag));
  }
  const file = logFile(...records);
  for (const n of [1, 7, 15, 16, 17, 100, 1234, 2500, 3000]) assert.is((await read(file, { tail: n })).both, referenceTail(records, n), `tail ${n}`);
  assert.is((await read(file)).both, referenceTail(records, 3000));
});

test('since and until: inclusive, per line', async () => {
  const file = logFile(record(0, 'stdout', 'a'), record(10, 'stdout', 'b', 'P'), record(20, 'stdout', 'c'), record(30, 'stderr', 'd'), record(40, 'stdout', 'e'));
  // Records are at BASE + s + 0.123456789 s; Dates have milliseconds.
  const before = (s: number) => new Date(BASE + s * 1000 + 123);
  const after = (s: number) => new Date(BASE + s * 1000 + 124);
  assert.is((await read(file, { since: before(10) })).both, 'bc\nd\ne\n');
  assert.is((await read(file, { since: after(10) })).both, 'd\ne\n');
  assert.is((await read(file, { until: after(30) })).both, 'a\nbc\nd\n');
  assert.is((await read(file, { until: before(30) })).both, 'a\nbc\n');
  assert.is((await read(file, { since: before(10), until: after(30), tail: 2 })).both, 'd\n');
  assert.is((await read(file, { since: before(50) })).both, '');
});

test('a missing log file is an empty log; followed, until the container has exited', async () => {
  assert.equal(await read(path.join(dir, 'nosuch')), { stdout: '', stderr: '', both: '' });
  const out = new Sink();
  let checks = 0;
  await readLog(path.join(dir, 'nosuch'), { follow: true, timestamps: false }, { stdout: out, stderr: out }, { stopWhen: async () => ++checks > 2 });
  assert.is(checks, 3);
  assert.is(out.text, '');
});

test('follow: prints what is added, including unfinished lines, until stopWhen says the container exited', async () => {
  const file = logFile(record(0, 'stdout', 'before'));
  const out = new Sink();
  let exited = false;
  const following = readLog(file, { follow: true, tail: 1, timestamps: false }, { stdout: out, stderr: out }, { stopWhen: async () => exited });
  const waitFor = async (text: string) => {
    while (!out.text.includes(text)) await new Promise((r) => setTimeout(r, 10));
  };
  await waitFor('before\n');
  appendFileSync(file, record(1, 'stdout', 'prompt: ', 'P'));
  await waitFor('prompt: ');
  appendFileSync(file, record(2, 'stdout', 'answer'));
  await waitFor('answer\n');
  // Written just before the exit: still printed.
  appendFileSync(file, record(3, 'stderr', 'last'));
  exited = true;
  await following;
  assert.is(out.text, 'before\nprompt: answer\nlast\n');
});

test('follow waits for a log file that does not exist yet; until ends it', async () => {
  const file = path.join(dir, `late${serial++}`);
  const out = new Sink();
  const until = new Date(Date.now() + 60_000);
  const following = readLog(file, { follow: true, until, timestamps: false }, { stdout: out, stderr: out });
  await new Promise((r) => setTimeout(r, 300));
  writeFileSync(file, `${parseLine(new Date(), 'first')}${parseLine(new Date(until.getTime() + 1000), 'after until')}`);
  await following;
  assert.is(out.text, 'first\n');
});

function parseLine(time: Date, text: string): string {
  return `${time.toISOString().slice(0, 23)}000000+00:00 stdout F ${text}\n`;
}

test('a real conmon log: long lines split into pieces are whole again, streams apart', async () => {
  const lab: Lab = await openLab('k8s-log');
  try {
    const c = await launch(lab, ['sh', '-c', 'i=0; while [ $i -lt 2000 ]; do printf x; i=$((i+1)); done; echo; printf "%20000s|\\n" end; echo err >&2; printf "no newline"']);
    await runtimeStart(lab.rc, c.id);
    assert.is(await waitForExit(c.runDir, c.id), 0);
    const out = await read(c.logPath);
    assert.is(out.stdout, `${'x'.repeat(2000)}\n${' '.repeat(19997)}end|\nno newline`);
    assert.is(out.stderr, 'err\n');
    // The last three lines of both streams together. Where the stderr line falls among them
    // depends on which pipe conmon read first (a slow conmon finds all of stdout still queued).
    const tail = await read(c.logPath, { tail: 3 });
    const lineCount = (text: string) => text.split('\n').filter((l) => l !== '').length;
    assert.is(lineCount(tail.stdout) + lineCount(tail.stderr), 3);
    assert.ok(out.stdout.endsWith(tail.stdout) && tail.stdout.endsWith(`${' '.repeat(19997)}end|\nno newline`), 'the last stdout lines');
    assert.ok(['', 'err\n'].includes(tail.stderr));
    let exitedChecks = 0;
    const followed = new Sink();
    await readLog(c.logPath, { follow: true, timestamps: true }, { stdout: followed, stderr: followed }, {
      stopWhen: async () => (exitedChecks++, (await readExitCode(c.runDir, c.id)) !== undefined),
    });
    assert.ok(exitedChecks >= 1);
    // Not necessarily the first line: the stderr line may precede it (see above).
    assert.match(followed.text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) x{2000}$/m);
    await runtimeDelete(lab.rc, c.id, { force: true });
  } finally {
    await lab.close();
  }
});

test.run();
