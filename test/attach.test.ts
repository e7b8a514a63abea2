/**
 * Attaching through conmon's attach socket, for real: output demultiplexed into stdout and
 * stderr, stdin forwarded and closed, detach keys, terminal mode (raw mode on and off, size
 * changes through the ctl fifo), a real pseudo-terminal driven through script(1), and the
 * errors of a bad socket or bad detach keys.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TspodError } from '../src/core/errors.js';
import { attachContainer, openAttach, parseDetachKeys, type AttachStreams } from '../src/namespaces/attach.js';
import { attachSocketPath, waitForExit } from '../src/namespaces/conmon.js';
import { runtimeDelete, runtimeKill, runtimeStart, runtimeState } from '../src/namespaces/oci-runtime.js';
import { enterRawMode } from '../src/namespaces/terminal.js';
import { gone, launch, logRecords, mountsUnder, openLab, processesMentioning, type Lab, type TestContainer } from './harness/bundle.js';

const test = suite('attach');
let lab: Lab;

test.before(async () => {
  lab = await openLab('attach');
});

test.after(async () => {
  await lab.close();
});

/** A writable that keeps what it gets. */
class Sink extends Writable {
  chunks: Buffer[] = [];
  /** resolves the next time the text seen so far contains `text` */
  private waiters: { text: string; resolve: () => void }[] = [];

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    this.waiters = this.waiters.filter((w) => (this.text.includes(w.text) ? (w.resolve(), false) : true));
    done();
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  waitFor(text: string): Promise<void> {
    if (this.text.includes(text)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ text, resolve }));
  }
}

/** A stream that claims to be a terminal: raw mode calls are recorded, the size is settable. */
class FakeTerminalInput extends PassThrough {
  isTTY = true;
  rawModes: boolean[] = [];
  setRawMode(raw: boolean): this {
    this.rawModes.push(raw);
    return this;
  }
}

class FakeTerminalOutput extends Sink {
  isTTY = true;
  rows = 30;
  columns = 100;
  getWindowSize(): [number, number] {
    return [this.columns, this.rows];
  }
}

function streams(stdin?: AttachStreams['stdin']): { stdout: Sink; stderr: Sink; stdin?: AttachStreams['stdin'] } {
  return { stdout: new Sink(), stderr: new Sink(), stdin };
}

const socketOf = (c: TestContainer) => attachSocketPath(c.runDir, c.id);

async function finish(c: TestContainer): Promise<number> {
  const code = await waitForExit(c.runDir, c.id, { conmonPid: c.conmonPid });
  await runtimeDelete(lab.rc, c.id, { force: true });
  assert.ok(await gone(c.conmonPid), 'conmon ended');
  assert.equal(processesMentioning(c.bundle), []);
  return code;
}

test('attached before start: stdout and stderr arrive separately and complete; the log has them too', async () => {
  const c = await launch(lab, ['sh', '-c', 'echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 4']);
  const s = streams();
  const session = await openAttach(socketOf(c), s, { tty: false, bundle: c.bundle });
  await runtimeStart(lab.rc, c.id);
  assert.equal(await session.done, { detached: false });
  assert.is(s.stdout.text, 'out1\nout2\n');
  assert.is(s.stderr.text, 'err1\nerr2\n');
  assert.is(await finish(c), 4);
  assert.equal(logRecords(c).filter((r) => r.startsWith('stdout')), ['stdout F out1', 'stdout F out2']);
});

test('attachContainer: large output arrives whole and in order', async () => {
  const c = await launch(lab, ['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo "line $i of the output"; i=$((i+1)); done']);
  const s = streams();
  const attached = attachContainer(socketOf(c), s, { tty: false, bundle: c.bundle });
  // attachContainer connects before its first await: starting right away loses nothing.
  await runtimeStart(lab.rc, c.id);
  assert.equal(await attached, { detached: false });
  const lines = s.stdout.text.split('\n');
  assert.is(lines.length, 3001);
  assert.is(lines[0], 'line 0 of the output');
  assert.is(lines[2999], 'line 2999 of the output');
  assert.is(await finish(c), 0);
});

test('stdin is forwarded and its end closes the container\'s stdin (-i)', async () => {
  const c = await launch(lab, ['sh', '-c', 'cat; echo done >&2'], { stdin: true });
  const input = new PassThrough();
  const s = streams(input);
  const session = await openAttach(socketOf(c), s, { tty: false, bundle: c.bundle });
  await runtimeStart(lab.rc, c.id);
  input.write('hello\n');
  await s.stdout.waitFor('hello\n');
  // A lone ctrl-p is not the detach sequence: it reaches the container with what follows it.
  input.write(Buffer.from('a\x10b\n'));
  input.end(Buffer.alloc(20000, 'z'));
  assert.equal(await session.done, { detached: false });
  assert.is(s.stdout.text, `hello\na\x10b\n${'z'.repeat(20000)}`);
  assert.is(s.stderr.text, 'done\n');
  assert.is(await finish(c), 0);
});

test('detach keys end the attach, not the container; a new attach sees it again', async () => {
  const c = await launch(lab, ['cat'], { tty: true });
  const input = new PassThrough();
  const s = streams(input);
  const session = await openAttach(socketOf(c), s, { tty: true, bundle: c.bundle, detachKeys: 'ctrl-x,y' });
  await runtimeStart(lab.rc, c.id);
  input.write('first\r');
  await s.stdout.waitFor('first\r\n');
  input.write(Buffer.from('\x18y'));
  assert.equal(await session.done, { detached: true });
  assert.is((await runtimeState(lab.rc, c.id))?.status, 'running');

  const again = new PassThrough();
  const s2 = streams(again);
  const second = await openAttach(socketOf(c), s2, { tty: true, bundle: c.bundle });
  again.write('second\r');
  await s2.stdout.waitFor('second\r\n');
  again.write(Buffer.from('\x10\x11'));
  assert.equal(await second.done, { detached: true });
  assert.is((await runtimeState(lab.rc, c.id))?.status, 'running');
  await runtimeKill(lab.rc, c.id, 'KILL');
  assert.is(await finish(c), 137);
});

test('terminal: raw mode while attached and restored after; the container terminal follows our size', async () => {
  const script = 'read x; stty size; trap "stty size; exit 0" WINCH; echo armed; while :; do sleep 0.1; done';
  const c = await launch(lab, ['sh', '-c', script], { tty: true });
  const input = new FakeTerminalInput();
  const output = new FakeTerminalOutput();
  const listeners = process.listenerCount('SIGWINCH');
  const session = await openAttach(socketOf(c), { stdin: input, stdout: output, stderr: new Sink() }, { tty: true, bundle: c.bundle });
  assert.is(process.listenerCount('SIGWINCH'), listeners + 1);
  assert.equal(input.rawModes, [true]);
  await runtimeStart(lab.rc, c.id);
  input.write('go\r');
  await output.waitFor('30 100\r\n');
  await output.waitFor('armed\r\n');
  output.rows = 40;
  output.columns = 120;
  process.emit('SIGWINCH', 'SIGWINCH');
  assert.equal(await session.done, { detached: false });
  assert.match(output.text, /armed\r\n40 120\r\n$/);
  assert.equal(input.rawModes, [true, false]);
  assert.is(await finish(c), 0);
  assert.is(process.listenerCount('SIGWINCH'), listeners, 'no SIGWINCH listener left');
});

test('terminal: raw mode is restored when the session is closed, and on detach', async () => {
  const c = await launch(lab, ['cat'], { tty: true });
  await runtimeStart(lab.rc, c.id);
  const input = new FakeTerminalInput();
  const session = await openAttach(socketOf(c), { stdin: input, stdout: new FakeTerminalOutput(), stderr: new Sink() }, { tty: true, bundle: c.bundle });
  session.close();
  assert.equal(await session.done, { detached: true });
  assert.equal(input.rawModes, [true, false]);
  const input2 = new FakeTerminalInput();
  const detaching = attachContainer(socketOf(c), { stdin: input2, stdout: new FakeTerminalOutput(), stderr: new Sink() }, { tty: true, bundle: c.bundle });
  input2.write(Buffer.from('\x10\x11'));
  assert.equal(await detaching, { detached: true });
  assert.equal(input2.rawModes, [true, false]);
  await runtimeKill(lab.rc, c.id, 'KILL');
  assert.is(await finish(c), 137);
});

test('a socket that is not there: one clear error, the terminal untouched', async () => {
  const input = new FakeTerminalInput();
  const e = await attachContainer(path.join(lab.dir, 'nosuch', 'attach'), { stdin: input, stdout: new Sink(), stderr: new Sink() }, { tty: true, bundle: lab.dir }).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.instance(e, TspodError);
  assert.match((e as TspodError).message, /cannot attach to the container: .*nosuch\/attach: No such file or directory$/);
  assert.equal(input.rawModes, []);
});

test('a socket path longer than sun_path still connects (through /proc/self/fd)', async () => {
  const c = await launch(lab, ['echo', 'far away']);
  const deep = path.join(lab.dir, 'x'.repeat(60), 'y'.repeat(60));
  mkdirSync(deep, { recursive: true });
  const link = path.join(deep, 'attach');
  symlinkSync(socketOf(c), link);
  const s = streams();
  const session = await openAttach(link, s, { tty: false, bundle: c.bundle });
  await runtimeStart(lab.rc, c.id);
  await session.done;
  assert.is(s.stdout.text, 'far away\n');
  assert.is(await finish(c), 0);
});

test('parseDetachKeys: Docker\'s syntax', () => {
  assert.equal(parseDetachKeys('ctrl-p,ctrl-q'), [16, 17]);
  assert.equal(parseDetachKeys('a,b'), [97, 98]);
  assert.equal(parseDetachKeys('ctrl-@,ctrl-a,ctrl-z,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_'), [0, 1, 26, 27, 28, 29, 30, 31]);
  assert.equal(parseDetachKeys('DEL'), [127]);
  assert.equal(parseDetachKeys(''), []);
  for (const bad of ['ctrl-P', 'ctrl-1', 'foo', 'ctrl-p,', 'a,,b', 'é', 'ctrl-pq']) {
    assert.throws(() => parseDetachKeys(bad), (e: unknown) => e instanceof TspodError && /invalid detach keys/.test((e as Error).message), bad);
  }
});

const TERMINAL_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/namespaces/terminal.js');

test('enterRawMode: a fatal signal restores the terminal and still ends the process', async () => {
  const script = `
    import { enterRawMode } from ${JSON.stringify(TERMINAL_JS)};
    enterRawMode({ isTTY: true, setRawMode: (raw) => console.log('raw', raw) });
    setTimeout(() => process.kill(process.pid, 'SIGTERM'), 10);
    setTimeout(() => console.log('still alive'), 5000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  assert.is(signal, 'SIGTERM');
  assert.is(out, 'raw true\nraw false\n');
  const restore = enterRawMode({ isTTY: false });
  restore();
});

test('a real terminal (script(1)): typed keys reach the container, detach keys detach, the terminal settings come back', async () => {
  const c = await launch(lab, ['cat'], { tty: true });
  await runtimeStart(lab.rc, c.id);
  const dir = path.join(lab.dir, 'pty');
  mkdirSync(dir, { recursive: true });
  const child = path.join(dir, 'attach-child.mjs');
  writeFileSync(
    child,
    `import { openAttach } from ${JSON.stringify(path.resolve(path.dirname(TERMINAL_JS), 'attach.js'))};
const session = await openAttach(${JSON.stringify(socketOf(c))}, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, { tty: true, bundle: ${JSON.stringify(c.bundle)} });
process.stdout.write('ATTACHED');
const r = await session.done;
console.log('\\nRESULT', JSON.stringify(r));
`,
  );
  const inner = `stty -g > ${dir}/before; ${process.execPath} ${child}; stty -g > ${dir}/after`;
  const proc = spawn('script', ['-qfec', inner, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, TERM: 'xterm' } });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  const seen = (text: string, times = 1) =>
    new Promise<void>((resolve) => {
      const check = () => out.split(text).length > times && (proc.stdout.off('data', check), resolve());
      proc.stdout.on('data', check);
      check();
    });
  await seen('ATTACHED');
  proc.stdin.write('typed\r');
  // The container terminal echoes the line, then cat prints it.
  await seen('typed', 2);
  await seen('\n', 2);
  // Raw mode here: our terminal did not echo it a third time.
  assert.is(out.split('typed').length - 1, 2, JSON.stringify(out));
  proc.stdin.write('\x10\x11');
  await seen('RESULT {"detached":true}');
  const code = await new Promise((resolve) => proc.on('exit', resolve));
  assert.is(code, 0);
  assert.is(readFileSync(`${dir}/after`, 'utf8'), readFileSync(`${dir}/before`, 'utf8'));
  assert.is((await runtimeState(lab.rc, c.id))?.status, 'running');
  await runtimeKill(lab.rc, c.id, 'KILL');
  assert.is(await finish(c), 137);
});

test('nothing left: no conmon, no container process, no mount', async () => {
  for (const c of lab.containers) assert.ok(await gone(c.conmonPid));
  assert.equal(processesMentioning(lab.dir), []);
  assert.equal(mountsUnder(lab, lab.dir), []);
});

test.run();
