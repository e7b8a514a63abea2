/**
 * `tspod exec` end to end with busybox: the exit code is the command's (the container's own 126
 * and 127 included), 127/126 when the command is not found or cannot be invoked, the same
 * namespaces and root filesystem as the container's process, -e/--env-file, -u (names, uids,
 * uid:gid; the container's non-root USER by default), -w, --privileged, -i/-d, a real terminal
 * with -t (tmux), the exec_start event, and bad input: no such container, not running (created,
 * exited), a missing command and bad flags, one line each and exit 125.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import Exec from '../src/commands/exec.js';
import { execFlagShapes, parseSimple } from '../src/cli/fast-exec.js';
import { globalFlags } from '../src/cli/base.js';
import { globalFlagShapes } from '../src/cli/globals.js';
import { openContainerEnv, until, type ContainerEnv } from './harness/container-env.js';
import { assertOk, assertOneError } from './harness/store-checks.js';
import { startTmux, type Tmux } from './harness/tmux.js';

const test = suite('exec');
let env: ContainerEnv;
let term: Tmux | undefined;

/** A container's main process that ends at once on SIGTERM (stop needs no timeout). */
const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; sleep 600 & wait'];

test.before(async () => {
  env = await openContainerEnv(['busybox']);
  await env.ok(['run', '-d', '--name', 'c', '-e', 'FROM_RUN=run-value', '-h', 'exec-host', 'busybox', ...SLEEPER]);
  await env.ok(['run', '-d', '--name', 'unpriv', '-u', 'nobody', '-w', '/tmp', 'busybox', ...SLEEPER]);
});

test.after.each(async () => {
  await term?.kill();
  term = undefined;
});

test.after(async () => {
  await env?.close();
});

const exec = (args: string[], opts?: { input?: string; env?: Record<string, string> }) => env.tspod(['exec', ...args], opts);

test('the exit code, stdout and stderr are the command\'s; its own 126, 127 and 255 stay and print no error', async () => {
  const r = await exec(['c', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
  assert.is(r.code, 7);
  assert.is(r.stdout, 'out\n');
  assert.is(r.stderr, 'err\n');
  for (const code of [126, 127, 255, 0]) {
    const own = await exec(['c', 'sh', '-c', `exit ${code}`]);
    assert.is(own.code, code, `exit ${code}`);
    assert.is(own.stderr, '', `exit ${code} prints nothing`);
  }
  // Killed by a signal: 128 + its number, as a shell reports it.
  assert.is((await exec(['c', 'sh', '-c', 'kill -9 $$'])).code, 137);
});

test('a command that is not found is 127, one that cannot be executed 126, a missing working directory 127', async () => {
  assertOneError(await exec(['c', 'no-such-command']), /no-such-command.*not found/, 127);
  assertOneError(await exec(['c', '/no/such/path']), /\/no\/such\/path.*no such file or directory/, 127);
  assertOneError(await exec(['c', '/etc/passwd']), /\/etc\/passwd.*permission denied/, 126);
  assertOneError(await exec(['c', '/etc']), /\/etc.*permission denied/, 126);
  assertOneError(await exec(['-w', '/no-such-dir', 'c', 'true']), /no-such-dir.*no such file or directory/, 127);
});

test('it joins the container: the same pid, mount, network, ipc, uts and user namespaces, its root filesystem, its host name', async () => {
  const kinds = ['pid', 'mnt', 'net', 'ipc', 'uts', 'user'];
  const script = kinds.map((k) => `echo ${k} $(readlink /proc/1/ns/${k}) $(readlink /proc/self/ns/${k})`).join('; ');
  const r = await exec(['c', 'sh', '-c', script]);
  assertOk(r, 'exec readlink');
  for (const line of r.stdout.trim().split('\n')) {
    const [kind, theirs, ours] = line.split(' ');
    assert.ok(theirs && theirs.startsWith(`${kind}:[`), `${kind} of PID 1 readable: ${line}`);
    assert.is(ours, theirs, `${kind} namespace shared with the container's PID 1`);
  }
  assert.is(r.stdout.trim().split('\n').length, kinds.length);
  // PID 1 is the container's own process: exec sees the container's process tree.
  assert.match(await env.ok(['exec', 'c', 'cat', '/proc/1/cmdline']), /^sh\0-c\0trap/);
  assert.is(await env.ok(['exec', 'c', 'hostname']), 'exec-host\n');
  await env.ok(['exec', 'c', 'sh', '-c', 'echo written-by-exec > /exec-file']);
  assert.is(await env.ok(['exec', 'c', 'cat', '/exec-file']), 'written-by-exec\n');
  assert.is((await exec(['unpriv', 'cat', '/exec-file'])).code, 1, 'another container does not see it');
});

test("the container's environment, with -e (VAR=value, VAR from here, VAR unset here removes it) and --env-file on top", async () => {
  const file = path.join(path.dirname(env.store.root), 'exec.env');
  writeFileSync(file, '# comment\nFROM_FILE=file-value\nFROM_RUN=file-overrides-run\n');
  const r = await exec(['-e', 'A=1', '-e', 'HOST_VAR', '-e', 'FROM_RUN', '--env-file', file, 'c', 'env'], { env: { HOST_VAR: 'from-host' } });
  assertOk(r, 'exec env');
  const vars = r.stdout.split('\n');
  assert.ok(vars.includes('A=1'), r.stdout);
  assert.ok(vars.includes('HOST_VAR=from-host'), r.stdout);
  assert.ok(vars.includes('FROM_FILE=file-value'), r.stdout);
  assert.not.ok(vars.some((v) => v.startsWith('FROM_RUN=')), `-e FROM_RUN, unset here, removes it: ${r.stdout}`);
  assert.ok(vars.includes('HOSTNAME=exec-host'), r.stdout);
  assert.ok(vars.includes('HOME=/root'), r.stdout);
  assert.ok(vars.some((v) => v.startsWith('PATH=/')), r.stdout);
  assert.ok((await env.ok(['exec', 'c', 'env'])).split('\n').includes('FROM_RUN=run-value'), 'the container\'s own variable');
});

test("-u: the container's user by default (a non-root USER too), names, uids, uid:gid; -u 0 is root; HOME follows the user", async () => {
  assert.is(await env.ok(['exec', 'c', 'id']), 'uid=0(root) gid=0(root)\n');
  assert.match(await env.ok(['exec', 'unpriv', 'id', '-u']), /^65534$/m);
  assert.is(await env.ok(['exec', 'unpriv', 'pwd']), '/tmp\n', "the container's working directory");
  assert.is(await env.ok(['exec', '-u', '0', 'unpriv', 'id', '-u']), '0\n');
  assert.is(await env.ok(['exec', '-u', 'root', 'unpriv', 'sh', '-c', 'echo $HOME']), '/root\n');
  assert.is(await env.ok(['exec', '-u', 'nobody', 'c', 'sh', '-c', 'id -u; id -g; echo $HOME']), '65534\n65534\n/home\n');
  assert.is(await env.ok(['exec', '-u', '1234:4321', 'c', 'sh', '-c', 'id -u; id -g']), '1234\n4321\n', 'ids that are in no passwd file');
  assert.is(await env.ok(['exec', '-u', 'app:nogroup', 'c', 'sh', '-c', 'id -un; id -gn; echo $HOME']), 'app\nnogroup\n/home/app\n');
  // root in the container may write where the non-root user may not
  assert.is((await exec(['unpriv', 'touch', '/root-only'])).code, 1);
  assertOk(await exec(['-u', '0', 'unpriv', 'touch', '/root-only']), 'exec -u 0 touch');
  assertOneError(await exec(['-u', 'no-such-user', 'c', 'true']), /no-such-user/);
});

test('-w sets the working directory; a relative one is refused', async () => {
  assert.is(await env.ok(['exec', '-w', '/etc', 'c', 'pwd']), '/etc\n');
  assert.is(await env.ok(['exec', 'c', 'pwd']), '/\n');
  assertOneError(await exec(['-w', 'etc', 'c', 'pwd']), /working directory "etc".*absolute/);
});

test("--privileged gives the command more capabilities than the container's; without it, the container's", async () => {
  const caps = async (args: string[]) => BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(await env.ok(['exec', ...args, 'c', 'cat', '/proc/self/status']))![1]}`);
  const plain = await caps([]);
  const privileged = await caps(['--privileged']);
  assert.ok(plain > 0n);
  assert.ok((privileged & plain) === plain && privileged > plain, `${privileged.toString(16)} includes and exceeds ${plain.toString(16)}`);
  // CAP_SYS_ADMIN (21): not the container's, but the privileged command's
  assert.is((plain >> 21n) & 1n, 0n);
  assert.is((privileged >> 21n) & 1n, 1n);
});

test('-i gives the command our stdin; without -i its stdin is empty', async () => {
  const r = await exec(['-i', 'c', 'sh', '-c', 'cat; echo end'], { input: 'line one\nline two\n' });
  assertOk(r, 'exec -i cat');
  assert.is(r.stdout, 'line one\nline two\nend\n');
  const closed = await exec(['c', 'sh', '-c', 'cat; echo end'], { input: 'not read\n' });
  assertOk(closed, 'exec cat');
  assert.is(closed.stdout, 'end\n');
});

test('-d returns while the command still runs in the container, and prints nothing', async () => {
  const r = await exec(['-d', 'c', 'sh', '-c', 'echo detached-output; echo $$ > /detached.pid; sleep 300; echo never']);
  assertOk(r, 'exec -d');
  assert.is(r.stdout, '');
  const pid = await until('the detached command wrote its pid', async () => {
    const read = await exec(['c', 'cat', '/detached.pid']);
    return read.code === 0 ? read.stdout.trim() : undefined;
  }, 30_000);
  assert.match(await env.ok(['exec', 'c', 'cat', `/proc/${pid}/cmdline`]), /^sh\0-c\0echo detached-output/);
  await env.ok(['exec', 'c', 'kill', pid]);
  assertOneError(await exec(['-d', 'c', 'no-such-command']), /no-such-command.*not found/, 127);
});

test('-d -t and -dit: the command runs detached on a terminal that outlives tspod, until it exits; failures as without -t', async () => {
  for (const flags of [['-d', '-t'], ['-dit']]) {
    const marker = `/tty${flags.length}`;
    assertOk(await exec([...flags, 'c', 'sh', '-c', `tty > ${marker}.name; echo $$ > ${marker}.pid; sleep 300`]), `exec ${flags.join(' ')}`);
    const name = await until('the detached command wrote its terminal', async () => {
      const read = await exec(['c', 'cat', `${marker}.name`]);
      return read.code === 0 && read.stdout !== '' ? read.stdout.trim() : undefined;
    }, 30_000);
    assert.match(name, /^\/dev\/pts\/\d+$/, `${flags.join(' ')}: a terminal`);
    const pid = (await env.ok(['exec', 'c', 'cat', `${marker}.pid`])).trim();
    // tspod has exited: the command still runs, on its terminal.
    assert.is((await env.ok(['exec', 'c', 'readlink', `/proc/${pid}/fd/0`])).trim(), name);
    await env.ok(['exec', 'c', 'kill', pid]);
  }
  // The monitor's directory goes once its command has exited.
  const runDir = path.join(env.store.runroot, 'containers', (await env.ok(['inspect', '-f', '{{.Id}}', 'c'])).trim());
  await until('the detached commands\' monitors cleaned up', () => (readdirSync(runDir).some((f) => f.startsWith('exec-')) ? undefined : true), 30_000);
  assertOneError(await exec(['-dt', 'c', 'no-such-command']), /no-such-command.*not found/, 127);
  assert.equal(readdirSync(runDir).filter((f) => f.startsWith('exec-')), [], 'a failed exec leaves nothing');
});

test('exec_start is recorded in the events log with the command', async () => {
  await env.ok(['exec', 'c', 'echo', 'event-marker']);
  const log = readFileSync(path.join(env.store.runroot, 'events', 'events.log'), 'utf8');
  const events = log.trim().split('\n').map((l) => JSON.parse(l) as { type: string; action: string; name?: string; attributes?: Record<string, string> });
  const found = events.find((e) => e.action === 'exec_start' && e.attributes?.command === 'echo event-marker');
  assert.ok(found, `an exec_start event for the command in:\n${log}`);
  assert.is(found!.type, 'container');
  assert.is(found!.name, 'c');
});

test('bad input is one line and 125, and changes nothing: no such container, not running (created, exited), no command, bad flags', async () => {
  assertOneError(await exec(['no-such-container', 'true']), /no such container: no-such-container/);
  await env.ok(['create', '--name', 'created-only', 'busybox', 'true']);
  assertOneError(await exec(['created-only', 'true']), /container created-only is not running \(created\).*tspod start created-only/);
  await env.ok(['run', '--name', 'exited', 'busybox', 'true']);
  assertOneError(await exec(['exited', 'true']), /container exited is not running \(exited\).*tspod start exited/);
  assertOneError(await exec(['c']), /requires at least 2 arguments/);
  assertOneError(await exec(['--no-such-flag', 'c', 'true']), /no-such-flag/);
  assertOneError(await exec(['--detach-keys', 'ctrl-', 'c', 'true']), /detach keys/);
  assertOneError(await exec(['-it', 'c', 'true']), /not a TTY/);
  // Flags after the container belong to the command.
  assert.is(await env.ok(['exec', 'c', 'echo', '-u', '--no-such-flag']), '-u --no-such-flag\n');
  assert.is(await env.ok(['container', 'exec', 'c', 'echo', 'alias']), 'alias\n');
  assert.is(existsSync(path.join(env.store.runroot, 'containers')), true);
  await env.ok(['rm', 'created-only', 'exited']);
});

test("the fast path knows exec's and the global flags as oclif defines them", () => {
  const shape = (f: { type: string; char?: string; multiple?: boolean; options?: readonly string[] }) => ({
    type: f.type,
    char: f.char,
    multiple: f.type === 'option' ? Boolean(f.multiple) : undefined,
    options: f.options ? [...f.options] : undefined,
  });
  const shapes = (flags: Record<string, Parameters<typeof shape>[0]>) => Object.fromEntries(Object.entries(flags).map(([name, f]) => [name, shape(f)]));
  assert.equal(shapes(execFlagShapes), shapes(Exec.flags));
  assert.equal(shapes(globalFlagShapes), shapes(globalFlags));
});

test('the fast path reads the lines people type, and leaves anything unusual to oclif', () => {
  const defs = { ...globalFlagShapes, ...execFlagShapes };
  const parse = (line: string[]) => parseSimple(line, defs);
  assert.equal(parse(['-it', '-eA=1', '-e', 'B', '--env=C=3', '--env', 'D', '-u0', '--workdir=/tmp', '--root', '/r', 'c', 'sh', '-c', 'x -e y']), {
    flags: { interactive: true, tty: true, env: ['A=1', 'B', 'C=3', 'D'], user: '0', workdir: '/tmp', root: '/r', detach: false, privileged: false },
    positionals: ['c', 'sh', '-c', 'x -e y'],
  });
  assert.equal(parse(['c', 'true'])?.positionals, ['c', 'true']);
  for (const unusual of [
    ['--help'],
    ['-h', 'c', 'true'],
    ['--no-such-flag', 'c', 'true'],
    ['--privileged=true', 'c', 'true'],
    ['-u', '0', '-u', '1', 'c', 'true'],
    ['--', 'c', 'true'],
    ['-e', '-x', 'c', 'true'],
    ['-e=A', 'c', 'true'],
    ['--log-level', 'loud', 'c', 'true'],
    ['-u'],
    ['-i'],
  ]) {
    assert.is(parse(unusual), undefined, unusual.join(' '));
  }
});

test('lines the fast path leaves to oclif work all the same, or fail as oclif says', async () => {
  assert.is(await env.ok(['exec', '--', 'c', 'echo', 'through-oclif']), 'through-oclif\n');
  assert.is(await env.ok(['exec', '-e=A=1', 'c', 'sh', '-c', 'echo $A']), '1\n');
  assertOneError(await exec(['-u', '0', '-u', '1', 'c', 'true']), /--user can only be specified once/);
});

test('-it at a real terminal: a tty, the window size followed, the exit code, the terminal restored', async () => {
  term = await startTmux({ cols: 100, rows: 30 });
  await term.line(`stty -g > ${path.dirname(env.store.root)}/stty.before; ${env.shellCommand(['exec', '-it', 'c', 'sh'])}; echo "exit-status=$?"; stty -g > ${path.dirname(env.store.root)}/stty.after`);
  await term.waitFor(/^\/ #$/m);
  await term.line('tty');
  await term.waitFor(/^\/dev\/pts\/\d+$/m);
  await term.line('echo TERM=$TERM');
  await term.waitFor(/^TERM=xterm$/m);
  await term.line('stty size');
  await term.waitFor(/^30 100$/m);
  await term.resize(120, 40);
  await term.line('stty size');
  await term.waitFor(/^40 120$/m);
  await term.line('exit 5');
  await term.waitFor(/^exit-status=5$/m);
  const dir = path.dirname(env.store.root);
  await until('the shell saved the terminal modes again', () => (existsSync(`${dir}/stty.after`) && readFileSync(`${dir}/stty.after`, 'utf8') ? true : undefined), 10_000);
  assert.is(readFileSync(`${dir}/stty.after`, 'utf8'), readFileSync(`${dir}/stty.before`, 'utf8'), 'raw mode undone');
});

test('Ctrl-C without -t reaches the command (it traps SIGINT), not just tspod', async () => {
  term = await startTmux();
  await term.line(`${env.shellCommand(['exec', 'c', 'sh', '-c', 'trap "echo got-INT; exit 42" INT; echo ready; while :; do sleep 1; done'])}; echo "exit-status=$?"`);
  await term.waitFor(/^ready$/m);
  await term.keys('C-c');
  const screen = await term.waitFor(/^exit-status=42$/m);
  assert.match(screen, /got-INT$/m);
});

test.run();
