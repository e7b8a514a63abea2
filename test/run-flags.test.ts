/**
 * `tspod run` and `create` end to end with real containers: Docker's argument grammar, the
 * environment (-e, --env-file, the image's), hostname, working directory, user, ENTRYPOINT and
 * CMD, labels, names, --rm, --cidfile, stop settings, exit codes, and bad input that must change
 * nothing (no record, no directory, no mount, no process). Independent containers run side by
 * side: each CLI run costs seconds on a loaded machine.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { alive } from './harness/bundle.js';
import { APP, assertEmpty, assertNothingNew, leftovers, lines, pausePid, startRunEnv, type RunEnv } from './harness/run-env.js';
import { assertOk, assertOneError } from './harness/store-checks.js';
import { DEFAULT_PATH } from './fixtures/images.js';

const test = suite('run-flags');

let env: RunEnv;
let dir: string;

test.before(async () => {
  env = await startRunEnv({ app: true });
  dir = mkdtempSync(path.join(os.tmpdir(), 'tspod-run-flags-'));
});

test.after(async () => {
  if (!env) return;
  const ids = (await env.tspod(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  if (ids.length) await env.tspod(['rm', '-f', ...ids]);
  assertEmpty(env.store);
  const pause = pausePid(env.store);
  await env.stop();
  assert.not.ok(alive(pause), 'the pause process is gone');
  rmSync(dir, { recursive: true, force: true });
});

type Opts = { input?: string; env?: Record<string, string> };
const tspod = (args: string[], opts?: Opts) => env.tspod(args, opts);

/** `run --rm ARGS`: its output lines (it must succeed). */
async function runLines(args: string[], opts?: Opts): Promise<string[]> {
  return lines(await tspod(['run', '--rm', ...args], opts), `run ${args.join(' ')}`);
}

/** Failing commands, run side by side: each exits `code` with one error line; nothing is left behind. */
async function assertRefused(cases: [args: string[], error: RegExp, code?: number][]): Promise<void> {
  const before = leftovers(env.store);
  // A few at a time: each is a Node start.
  for (let i = 0; i < cases.length; i += 9) {
    const batch = cases.slice(i, i + 9);
    const results = await Promise.all(batch.map(([args]) => tspod(args)));
    batch.forEach(([args, error, code = 125], j) => {
      try {
        assertOneError(results[j]!, error, code);
      } catch (e) {
        (e as Error).message = `tspod ${args.join(' ')}: ${(e as Error).message}`;
        throw e;
      }
    });
  }
  assertNothingNew(env.store, before, cases.map(([args]) => args.join(' ')).join('; '));
}

test("Docker's grammar: flags after the image are the container's; repeatable flags keep the image; --; -ie and -it", async () => {
  const [ls, asArgs, twoEnv, dashes, dashBeforeImage, ie, it] = await Promise.all([
    runLines(['busybox', 'ls', '-la', '/']),
    runLines(['busybox', 'sh', '-c', 'echo "$@"', 'sh', '--rm', '-e', 'X=1', '-it']),
    runLines(['-e', 'A=1', '-e', 'B=2', 'busybox', 'env']),
    runLines(['-e', 'A=1', '--', 'busybox', 'sh', '-c', 'echo "$A" "$@"', 'sh', '--', '-x']),
    runLines(['--', 'busybox', 'echo', '--', '-e']),
    runLines(['-ie', 'B=2', 'busybox', 'sh', '-c', 'cat; echo "B=$B"'], { input: 'from stdin\n' }),
    tspod(['run', '--rm', '-it', 'busybox', 'sh'], { input: 'tty; exit 4\n' }),
  ]);
  assert.match(ls[0]!, /^total \d+$/);
  for (const entry of ['.', '..', 'bin', 'etc', 'proc']) assert.ok(ls.some((l) => l.startsWith('d') && l.endsWith(` ${entry}`)), `${entry} in:\n${ls.join('\n')}`);
  assert.equal(asArgs, ['--rm -e X=1 -it']);
  assert.ok(twoEnv.includes('A=1') && twoEnv.includes('B=2') && twoEnv.includes(DEFAULT_PATH), twoEnv.join('\n'));
  assert.equal(dashes, ['1 -- -x']);
  assert.equal(dashBeforeImage, ['-- -e']);
  assert.equal(ie, ['from stdin', 'B=2']);
  assert.is(it.code, 4, it.stderr);
  assert.match(it.stdout, /^\/dev\/pts\/\d+\r?$/m);
});

test("-e VAR=value, VAR from the host, VAR the host lacks (unsets the image's); --env-file (comments, blanks, verbatim values); -e wins", async () => {
  delete process.env.KEEP;
  const file = path.join(dir, 'env.list');
  writeFileSync(file, ['# a comment', '', '   X=1', 'Y=two words ', 'QUOTED="q"', 'EMPTY=', 'TSPOD_T_HOST', 'TSPOD_T_MISSING', '  # indented comment', 'Z=from file', ''].join('\n'));
  const hostEnv = { env: { TSPOD_T_HOST: 'from host' } };
  const [flags, fromFile] = await Promise.all([
    runLines(['--entrypoint', 'env', '-e', 'APP_MODE=user', '-e', 'KEEP', '-e', 'TSPOD_T_HOST', '-e', 'TSPOD_T_UNSET', '-e', 'SPACED=a b=c', 'app'], hostEnv),
    runLines(['--env-file', file, '-e', 'Z=from flag', 'busybox', 'env'], hostEnv),
  ]);
  const hostname = (out: string[]) => out.find((l) => /^HOSTNAME=[0-9a-f]{12}$/.test(l));
  assert.equal(flags.sort(), [DEFAULT_PATH, hostname(flags), 'APP_MODE=user', 'TSPOD_T_HOST=from host', 'SPACED=a b=c', 'HOME=/home/app'].sort());
  assert.equal(
    fromFile.sort(),
    [DEFAULT_PATH, hostname(fromFile), 'X=1', 'Y=two words ', 'QUOTED="q"', 'EMPTY=', 'TSPOD_T_HOST=from host', 'Z=from flag', 'HOME=/root'].sort(),
  );
});

test("-h, -w, -u; the image's ENV, WORKDIR and USER, and -u/-w over them; empty values mean none (Docker)", async () => {
  const cid = path.join(dir, 'hostname.cid');
  const emptyCid = path.join(dir, 'empty.cid');
  const idAndHome = ['sh', '-c', 'id; echo "$HOME"'];
  const appScript = ['sh', '-c', 'pwd; id -un; echo "$APP_MODE $KEEP $HOME"'];
  const results = await Promise.all([
    runLines(['-h', 'myhost', 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname; echo $HOSTNAME; grep -c myhost /etc/hosts']),
    runLines(['--cidfile', cid, 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname']),
    runLines(['-w', '/srv/new/deep', 'busybox', 'sh', '-c', 'pwd; ls -d /srv/new/deep']),
    runLines(['-u', '1000', 'busybox', ...idAndHome]),
    runLines(['-u', '1000:65534', 'busybox', ...idAndHome]),
    runLines(['-u', 'app', 'busybox', ...idAndHome]),
    runLines(['-u', '4242:4343', 'busybox', ...idAndHome]),
    runLines(['app', ...appScript]),
    runLines(['-u', '0', '-w', '/tmp', 'app', ...appScript]),
    runLines(['-u', '', '-w', '', '-h', '', '--name', '', '--cidfile', emptyCid, '--entrypoint', 'sh', 'app', '-c', 'id -un; pwd; hostname']),
  ]);
  const id = readFileSync(cid, 'utf8');
  const emptyId = readFileSync(emptyCid, 'utf8');
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(results, [
    ['myhost', 'myhost', 'myhost', '1'],
    [id.slice(0, 12), id.slice(0, 12)],
    // Docker creates a missing working directory.
    ['/srv/new/deep', '/srv/new/deep'],
    ['uid=1000(app) gid=1000(app) groups=1000(app)', '/home/app'],
    ['uid=1000(app) gid=65534(nogroup) groups=65534(nogroup)', '/home/app'],
    ['uid=1000(app) gid=1000(app) groups=1000(app)', '/home/app'],
    ['uid=4242 gid=4343 groups=4343', '/'],
    [`entry: ${appScript.join(' ')}`, APP.workdir, 'app', 'image kept /home/app'],
    [`entry: ${appScript.join(' ')}`, '/tmp', 'root', 'image kept /root'],
    ['app', APP.workdir, emptyId.slice(0, 12)],
  ]);
});

test("ENTRYPOINT and CMD of an image that has both: Docker's rules; --entrypoint overrides (and drops CMD), '' resets", async () => {
  const [plain, args, epOnly, epArgs, resetArgs] = await Promise.all([
    runLines(['app']),
    runLines(['app', 'id', '-un']),
    tspod(['run', '--rm', '--entrypoint', 'echo', 'app']),
    runLines(['--entrypoint', 'echo', 'app', 'x', 'y']),
    runLines(['--entrypoint', '', 'app', 'echo', 'no', 'entry']),
  ]);
  assert.equal(plain, ['entry: echo default cmd', 'default cmd']);
  assert.equal(args, ['entry: id -un', 'app']);
  assertOk(epOnly, '--entrypoint echo app');
  assert.is(epOnly.stdout, '\n');
  assert.equal(epArgs, ['x y']);
  assert.equal(resetArgs, ['no entry']);
});

test("create: the ID on stdout; --name, labels over the image's (-l, --label, --label-file), ENTRYPOINT/CMD and stop settings in inspect", async () => {
  const labelFile = path.join(dir, 'labels');
  writeFileSync(labelFile, '# labels\nfromfile=yes\nshared=from-file\n');
  const [labelled, stopper, defaults] = await Promise.all([
    tspod(['create', '--name', 'labelled', '--label-file', labelFile, '-l', 'a=1', '--label', 'b', '-l', 'shared=user', 'app', 'a', 'b']),
    tspod(['create', '--name', 'stopper', '--stop-signal', 'SIGUSR2', '--stop-timeout', '3', 'busybox', 'true']),
    tspod(['create', '--name', 'defaults', 'busybox', 'true']),
  ]);
  for (const r of [labelled, stopper, defaults]) {
    assertOk(r, 'create');
    assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
  }
  const format = '{{.Id}} {{.Name}} {{.State.Status}} {{json .Config.Labels}} {{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Path}} {{json .Args}} {{.Config.StopSignal}} {{.Config.StopTimeout}}';
  const r = await tspod(['inspect', '-f', format, 'labelled', 'stopper', 'defaults']);
  assertOk(r, 'inspect');
  const [app, stop, plain] = r.stdout.trimEnd().split('\n');
  const id = labelled.stdout.trim();
  const labels = JSON.stringify({ 'org.tspod.app': 'image', shared: 'user', fromfile: 'yes', a: '1', b: '' });
  // Podman 4.3 shows the stop signal as a number, Docker by name.
  assert.match(app!, new RegExp(`^${id} /labelled created ${esc(labels)} ${esc(JSON.stringify(APP.entrypoint))} \\["a","b"\\] ${APP.entrypoint[0]} \\["a","b"\\] (10|SIGUSR1) 10$`));
  assert.match(stop!, /^[0-9a-f]{64} \/stopper created .* (12|SIGUSR2) 3$/);
  assert.match(plain!, /^[0-9a-f]{64} \/defaults created .* (15|SIGTERM) 10$/);
  const ps = await tspod(['ps', '-a', '--filter', 'label=a=1', '--format', '{{.Names}} {{.Status}}']);
  assert.is(ps.stdout, 'labelled Created\n');
});

function esc(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('a name in use, an existing --cidfile, a missing --cidfile directory: exit 125, one line, nothing created', async () => {
  const owner = (await tspod(['inspect', '-f', '{{.Id}}', 'labelled'])).stdout.slice(0, 12);
  const inUse = new RegExp(`^Error: the container name "labelled" is already in use by container ${owner}: `);
  const cid = path.join(dir, 'existing.cid');
  writeFileSync(cid, 'keep me');
  const unused = path.join(dir, 'unused.cid');
  await assertRefused([
    [['run', '--rm', '--name', 'labelled', 'busybox', 'true'], inUse],
    [['create', '--name', 'labelled', 'busybox', 'true'], inUse],
    [['run', '--rm', '--cidfile', cid, 'busybox', 'true'], new RegExp(`^Error: container ID file ${esc(cid)} exists`)],
    [['create', '--cidfile', cid, 'busybox', 'true'], /^Error: container ID file .* exists/],
    [['run', '--rm', '--cidfile', path.join(dir, 'no-such-dir', 'x.cid'), 'busybox', 'true'], /^Error: cannot create the container ID file .*no-such-dir\/x\.cid: no such directory$/],
    // A create that fails leaves no ID file.
    [['create', '--cidfile', unused, 'no-such-image-here'], /no-such-image-here/],
  ]);
  assert.is(readFileSync(cid, 'utf8'), 'keep me');
  assert.throws(() => readFileSync(unused), /ENOENT/);
});

test('--cidfile gets the ID; stop uses --stop-signal; rm of created containers', async () => {
  const cid = path.join(dir, 'run.cid');
  const trap = 'trap "echo got USR2; exit 0" USR2; echo ready; while :; do sleep 0.1; done';
  const child = env.spawnTspod(['run', '--rm', '--cidfile', cid, '--name', 'trapper', '--stop-signal', 'USR2', 'busybox', 'sh', '-c', trap]);
  let out = '';
  child.stderr!.resume();
  const ready = new Promise<void>((resolve) => child.stdout!.on('data', (d) => (out += d) && out.includes('ready') && resolve()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await Promise.race([ready, exited]);
  assert.is(out, 'ready\n');
  assert.match(readFileSync(cid, 'utf8'), /^[0-9a-f]{64}$/);
  assertOk(await tspod(['stop', readFileSync(cid, 'utf8')]), 'stop');
  assert.is(await exited, 0);
  assert.is(out, 'ready\ngot USR2\n');
  assertOk(await tspod(['rm', 'labelled', 'stopper', 'defaults']), 'rm');
});

test('exit codes: the container\'s own; 127 not found and 126 not executable, one line each; --rm removes them all', async () => {
  const before = leftovers(env.store);
  const [three, notFound, notExecutable] = await Promise.all([
    tspod(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; exit 3']),
    tspod(['run', '--rm', 'busybox', 'nosuchcommand']),
    tspod(['run', '--rm', 'busybox', '/etc/passwd']),
  ]);
  assert.is(three.code, 3, three.stderr);
  assert.is(three.stdout, 'out\n');
  assertOneError(notFound, /^Error: .*"nosuchcommand": executable file not found in \$PATH/, 127);
  assertOneError(notExecutable, /^Error: .*"\/etc\/passwd": permission denied/, 126);
  assertNothingNew(env.store, before, 'run --rm');
});

test('a container that cannot start stays Created without --rm (Docker), with nothing mounted or running', async () => {
  const before = leftovers(env.store);
  const r = await tspod(['run', '--name', 'neverran', 'busybox', '/etc']);
  assertOneError(r, /^Error: .*"\/etc": permission denied/, 126);
  const ps = await tspod(['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
  assert.is(ps.stdout, 'neverran Created\n');
  const after = leftovers(env.store);
  assert.is(after.records.length, before.records.length + 1);
  assert.equal([after.mounts, after.processes], [before.mounts, before.processes]);
  assertOk(await tspod(['rm', 'neverran']), 'rm neverran');
  assertNothingNew(env.store, before, 'rm neverran');
});

test('bad input: exit 125, one line naming the flag or the image, nothing created', async () => {
  const image = ['busybox', 'true'];
  await assertRefused([
    [['run', '--ulimit', 'nofile=2048:1024', ...image], /^Error: invalid --ulimit value "nofile=2048:1024"/],
    [['run', '--tmpfs', 'relative', ...image], /^Error: invalid --tmpfs value "relative"/],
    [['run', '--cap-add', 'NO_SUCH_CAP', ...image], /^Error: invalid --cap-add value "NO_SUCH_CAP"/],
    [['run', '--security-opt', 'bogus', ...image], /^Error: unsupported --security-opt value "bogus"/],
    [['run', '--stop-signal', 'SIGNOPE', ...image], /^Error: invalid signal "SIGNOPE"/],
    [['run', '--restart', 'on-failure:x', ...image], /^Error: invalid --restart value "on-failure:x"/],
    [['run', '--restart', 'always', '--rm', ...image], /^Error: conflicting options: --restart and --rm/],
    [['run', '--name', 'bad/name', ...image], /^Error: invalid container name "bad\/name"/],
    [['run', '-e', '=x', ...image], /^Error: invalid --env value "=x"/],
    [['run', '--label-file', path.join(dir, 'no-such-file'), ...image], /^Error: --label-file .*no-such-file: no such file/],
    [['run', '-w', 'relative/dir', ...image], /^Error: invalid --workdir "relative\/dir"/],
    [['run', '--network', 'bogus', ...image], /^Error: invalid --network "bogus"/],
    [['run', '--pull', 'sometimes', ...image], /^Error: Expected --pull=sometimes to be one of: always, missing, never/],
    [['run', '--stop-timeout', 'soon', ...image], /^Error: Parsing --stop-timeout/],
    [['run', '--stop-timeout', '-1', ...image], /^Error: invalid --stop-timeout -1/],
    [['run', '-h', 'h'.repeat(65), ...image], /^Error: invalid --hostname "h{65}"/],
    [['run', '--no-such-flag', ...image], /^Error: Nonexistent flag: --no-such-flag/],
    [['run', '--detach-keys', 'bogus', ...image], /^Error: invalid detach keys "bogus"/],
    [['run', '-d', '-a', 'stdout', ...image], /^Error: conflicting options: -a and -d/],
    [['run', '-u', 'nosuchuser', ...image], /^Error: unable to find user nosuchuser: no matching entries in passwd file$/],
    [['run', '-u', 'app:nosuchgroup', ...image], /^Error: unable to find group nosuchgroup: no matching entries in group file$/],
    [['run', '--entrypoint', '', 'app'], /^Error: no command specified/],
    [['run'], /^Error: Missing 1 required arg/],
    [['run', '--rm', 'no-such-image-here', 'true'], /^Error: .*no-such-image-here/],
    [['run', '--pull', 'never', 'busybox:not-pulled', 'true'], /^Error: no such image: busybox:not-pulled$/],
    [['create', '--cap-add', 'ALL', '--cap-drop', 'ALL', ...image], /^Error: --cap-add ALL and --cap-drop ALL together are not allowed/],
    [['create', '-u', 'nosuchuser', ...image], /^Error: unable to find user nosuchuser/],
    [['create', `${env.registry.host}/library/nothere:v1`, 'true'], /^Error: .*library\/nothere/],
  ]);
});

test.run();
