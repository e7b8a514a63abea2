/**
 * Containers at a real terminal (tmux), typed at like a person would: `run --rm -it debian bash`
 * (prompt, id, os-release, exit code, terminal restored, resize), Ctrl-C in a foreground run
 * without -t, and the detach keys.
 *
 * Ctrl-C and PID 1: tspod forwards SIGINT to the container's main process, which is PID 1 of its
 * PID namespace, and the kernel delivers no signal to PID 1 that it has no handler for. So a
 * process that installs one (`sh -c 'trap ... INT'`, most servers) stops at the first Ctrl-C;
 * one that does not (`sleep`, a plain shell script) ignores it, and the second Ctrl-C makes
 * tspod kill the container (SIGKILL, exit 137; src/core/containers/run.ts). --init (catatonit
 * as PID 1) is the other way out.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openContainerEnv, until, type ContainerEnv } from './harness/container-env.js';
import { startTmux, type Tmux } from './harness/tmux.js';

const test = suite('terminal');
let env: ContainerEnv;
let term: Tmux | undefined;

test.before(async () => {
  env = await openContainerEnv(['busybox', 'debian']);
});

test.after.each(async () => {
  await term?.kill();
  term = undefined;
});

test.after(async () => {
  await env?.close();
});

const inspect = async (name: string, format: string) => (await env.ok(['inspect', '-f', format, name])).trim();

/** stty -a without the size (which the test changes on purpose). */
function terminalModes(file: string): string {
  return readFileSync(file, 'utf8').replace(/rows \d+; columns \d+;/, '');
}

test('run --rm -it debian bash: a root prompt, Debian, `exit 3` is the exit code, the terminal restored, the size followed', async () => {
  term = await startTmux({ cols: 100, rows: 30 });
  const dir = path.dirname(env.store.root);
  const before = path.join(dir, 'stty.before');
  const after = path.join(dir, 'stty.after');
  await term.line(`stty -a > ${before}; ${env.shellCommand(['run', '--rm', '-it', 'debian', 'bash'])}; echo "exit-status=$?"; stty -a > ${after}`);
  await term.waitFor(/root@[0-9a-f]{12}:\/#$/m);
  await term.line('id');
  await term.waitFor('uid=0(root) gid=0(root) groups=0(root)');
  await term.line('cat /etc/os-release');
  await term.waitFor(/^ID=debian$/m);
  await term.line('stty size');
  await term.waitFor(/^30 100$/m);
  await term.resize(120, 40);
  await term.line('stty size');
  await term.waitFor(/^40 120$/m);
  await term.line('exit 3');
  await term.waitFor(/^exit-status=3$/m);
  await until('the shell wrote stty -a again', () => (existsSync(after) && statSync(after).size > 0 ? true : undefined), 10_000);
  assert.is(terminalModes(after), terminalModes(before), 'raw mode undone: the terminal modes are as before');
  assert.match(terminalModes(before), / icanon /, 'the shell terminal was in canonical mode to begin with');
  assert.is(await env.ok(['ps', '-aq']), '', '--rm removed the container');
});

test('Ctrl-C in a foreground run without -t: a PID 1 that traps SIGINT gets it and ends; --rm removes it', async () => {
  term = await startTmux();
  await term.line(`${env.shellCommand(['run', '--rm', '--name', 'trapper', 'busybox', 'sh', '-c', 'trap "echo got-INT; exit 130" INT; echo ready; while :; do sleep 1; done'])}; echo "exit-status=$?"`);
  await term.waitFor(/^ready$/m);
  await term.keys('C-c');
  const screen = await term.waitFor(/^exit-status=130$/m);
  assert.match(screen, /^(\^C)?got-INT$/m);
  assert.is(await env.ok(['ps', '-aq', '--filter', 'name=trapper']), '');
});

test('Ctrl-C in a foreground run without -t: the first is forwarded (a trap that goes on), the second kills the container (137)', async () => {
  term = await startTmux();
  const script = 'trap "echo got-INT" INT; echo ready; while :; do sleep 1; done';
  await term.line(`${env.shellCommand(['run', '--name', 'stubborn', 'busybox', 'sh', '-c', script])}; echo "exit-status=$?"`);
  await term.waitFor(/^ready$/m);
  await term.keys('C-c');
  await term.waitFor(/got-INT$/m);
  assert.is(await inspect('stubborn', '{{.State.Status}}'), 'running');
  assert.not.match(await term.screen(), /^exit-status=/m);
  await term.keys('C-c');
  await term.waitFor(/^(\^C)*exit-status=137$/m);
  assert.is(await inspect('stubborn', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137');
  await env.ok(['rm', 'stubborn']);
});

test('-it with the detach keys ctrl-p,ctrl-q: tspod returns 0, the container keeps running and takes a new attach (start -a)', async () => {
  term = await startTmux();
  await term.line(`${env.shellCommand(['run', '-it', '--name', 'detachable', 'busybox', 'sh'])}; echo "exit-status=$?"`);
  await term.waitFor(/^\/ #$/m);
  await term.line('echo hello-from-inside');
  await term.waitFor(/^hello-from-inside$/m);
  await term.keys('C-p', 'C-q');
  await term.waitFor(/exit-status=0$/m);
  assert.is(await inspect('detachable', '{{.State.Status}}'), 'running');
  // Attach again: the same shell answers; its exit ends the container.
  await term.line(`${env.shellCommand(['start', '-ai', 'detachable'])}; echo "second-exit=$?"`);
  await term.line('echo "again-$((40+2))"');
  await term.waitFor(/^again-42$/m);
  await term.line('exit 7');
  await term.waitFor(/^second-exit=7$/m);
  assert.is(await inspect('detachable', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 7');
  await env.ok(['rm', 'detachable']);
});

test.run();
