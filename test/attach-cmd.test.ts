/**
 * The `attach` command (test/attach.test.ts is about the attach socket itself): attaching to
 * detached containers with and without a terminal, the detach keys (default and --detach-keys),
 * Ctrl-C (typed into the container's terminal with -t, forwarded as SIGINT without, not with
 * --sig-proxy=false), --no-stdin, the container's exit code, and the errors.
 */
import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN } from './harness/cli.js';
import { openContainerEnv, until, type ContainerEnv } from './harness/container-env.js';
import { assertOneError } from './harness/store-checks.js';
import { startTmux, type Tmux } from './harness/tmux.js';

const test = suite('attach-cmd');
let env: ContainerEnv;
let term: Tmux | undefined;

test.before(async () => {
  env = await openContainerEnv(['busybox']);
});

test.after.each(async () => {
  await term?.kill();
  term = undefined;
});

test.after(async () => {
  await env?.close();
});

const ok = (args: string[]) => env.ok(args);
const inspect = async (name: string, format: string) => (await ok(['inspect', '-f', format, name])).trim();
const ticking = (trap: string, word = 'tick') => `${trap}; while :; do echo ${word}; sleep 1; done`;

test('-t: type into a detached shell, detach with ctrl-p,ctrl-q (exit 0, the message), attach again and exit 5', async () => {
  await ok(['run', '-dit', '--name', 'shell', 'busybox', 'sh']);
  term = await startTmux();
  await term.line(`${env.shellCommand(['attach', 'shell'])}; echo "exit-status=$?"`);
  await term.line('echo "hi-$((40+2))"');
  await term.waitFor(/^hi-42$/m);
  await term.keys('C-p', 'C-q');
  const screen = await term.waitFor(/^exit-status=0$/m);
  // After the container's prompt, as Docker prints it.
  assert.match(screen, /read escape sequence\nexit-status=0$/m);
  assert.is(await inspect('shell', '{{.State.Status}}'), 'running');
  await term.line(`${env.shellCommand(['container', 'attach', 'shell'])}; echo "second=$?"`);
  await term.line('exit 5');
  await term.waitFor(/^second=5$/m);
  assert.is(await inspect('shell', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 5');
  await ok(['rm', 'shell']);
});

test('--detach-keys ctrl-x detaches; ctrl-p,ctrl-q then reach the container', async () => {
  await ok(['run', '-dit', '--name', 'keys', 'busybox', 'cat']);
  term = await startTmux();
  await term.line(`${env.shellCommand(['attach', '--detach-keys', 'ctrl-x', 'keys'])}; echo "exit-status=$?"`);
  await term.line('first-line');
  await term.waitFor(/^first-line\n(.*\n)?first-line$/m);
  await term.keys('C-p', 'C-q');
  await term.line('still-here');
  // Still attached: the terminal echoes the line and cat repeats it.
  await term.waitFor(/still-here[^]*still-here/);
  await term.keys('C-x');
  await term.waitFor(/^exit-status=0$/m);
  assert.is(await inspect('keys', '{{.State.Status}}'), 'running');
  assertOneError(await env.tspod(['attach', '--detach-keys', 'ctrl-7', 'keys']), /^Error: invalid detach keys "ctrl-7"/);
  await ok(['rm', '-f', 'keys']);
});

test("Ctrl-C with -t goes to the container's terminal: its foreground process gets SIGINT", async () => {
  await ok(['run', '-dit', '--name', 'ttyint', 'busybox', 'sh', '-c', ticking('trap "echo got-INT; exit 130" INT')]);
  term = await startTmux();
  await term.line(`${env.shellCommand(['attach', 'ttyint'])}; echo "exit-status=$?"`);
  await term.waitFor(/^tick\r?$/m);
  await term.keys('C-c');
  const screen = await term.waitFor(/exit-status=130$/m);
  assert.match(screen, /got-INT/);
  assert.is(await inspect('ttyint', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 130');
  await ok(['rm', 'ttyint']);
});

test('Ctrl-C without -t is forwarded as SIGINT (sig-proxy); with --sig-proxy=false only attach ends', async () => {
  await ok(['run', '-d', '--name', 'proxied', 'busybox', 'sh', '-c', ticking('trap "echo got-INT; exit 130" INT', 'tock')]);
  await ok(['run', '-d', '--name', 'unproxied', 'busybox', 'sh', '-c', ticking('trap "echo got-INT; exit 130" INT')]);
  term = await startTmux();
  // The shell drops the rest of a command line whose command died of SIGINT: $? comes next.
  await term.line(env.shellCommand(['attach', '--sig-proxy=false', 'unproxied']));
  await term.waitFor(/^tick$/m);
  await term.keys('C-c');
  await term.waitFor(/^[$#]$/m);
  await term.line('echo "first=$?"');
  await term.waitFor(/^first=130$/m);
  assert.is(await inspect('unproxied', '{{.State.Status}}'), 'running');
  assert.not.match(await ok(['logs', 'unproxied']), /got-INT/);
  await term.line(`${env.shellCommand(['attach', 'proxied'])}; echo "second=$?"`);
  await term.waitFor(/^tock$/m);
  await term.keys('C-c');
  const screen = await term.waitFor(/second=130$/m);
  assert.match(screen, /got-INT/);
  assert.is(await inspect('proxied', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 130');
  await ok(['rm', '-f', 'proxied', 'unproxied']);
});

test('without a terminal: stdin reaches a -i container, stdout and stderr come apart, the exit code is the container\'s', async () => {
  await ok(['run', '-di', '--name', 'piped', 'busybox', 'sh', '-c', 'read x; echo "got-$x"; echo "err-$x" >&2; exit 3']);
  const r = await env.tspod(['attach', 'piped'], { input: 'hello\n' });
  assert.is(r.code, 3, r.stderr);
  assert.is(r.stdout, 'got-hello\n');
  assert.is(r.stderr, 'err-hello\n');
  await ok(['rm', 'piped']);
});

test('--no-stdin: the input is not sent; the container runs on until killed (137)', async () => {
  await ok(['run', '-di', '--name', 'nostdin', 'busybox', 'sh', '-c', 'while :; do if read -t 1 x; then echo "got-$x"; exit 1; fi; echo waiting; done']);
  const child = spawn(process.execPath, ['--', BIN, '--root', env.store.root, '--runroot', env.store.runroot, 'attach', '--no-stdin', 'nostdin'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stdin.end('hello\n');
  await until('attached output arrives', () => (out.includes('waiting') ? true : undefined), 60_000);
  await ok(['kill', 'nostdin']);
  assert.is(await exited, 137);
  assert.not.match(out, /got-/);
  await ok(['rm', 'nostdin']);
});

test('errors: not found, stopped, paused (125, one line, nothing changed)', async () => {
  assertOneError(await env.tspod(['attach', 'nope']), /^Error: no such container: nope$/);
  await ok(['create', '--name', 'made', 'busybox', 'true']);
  assertOneError(await env.tspod(['attach', 'made']), /^Error: you cannot attach to a stopped container: start made first$/);
  assert.is(await inspect('made', '{{.State.Status}}'), 'created');
  await ok(['run', '-d', '--name', 'frozen', 'busybox', 'sleep', '1000']);
  await ok(['pause', 'frozen']);
  assertOneError(await env.tspod(['attach', 'frozen']), /^Error: you cannot attach to a paused container: unpause frozen first$/);
  assert.is(await inspect('frozen', '{{.State.Status}}'), 'paused');
  await ok(['rm', '-f', 'made', 'frozen']);
});

test.run();
