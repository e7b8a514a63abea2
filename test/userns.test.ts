/**
 * The rootless user namespace: subordinate id parsing, the pause process (creation, reuse,
 * validation, re-creation, concurrency, stop) and its failures. Rootless tests run in-process
 * when this file runs as an unprivileged user; as root, the root behaviour is checked in-process
 * and the whole file is run again as the test user.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TspodError } from '../src/core/errors.js';
import { currentUser, parseSubIdFile, subIdRanges } from '../src/namespaces/subid.js';
import { joinUserNamespace, mappingArgs, parseIdMap, stopUserNamespace } from '../src/namespaces/userns.js';
import { isRoot, runTestFileAsTestUser, TEST_USER } from './harness/unprivileged.js';

const USERNS_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/namespaces/userns.js');
const rootless = !isRoot();
const rootlessTest = rootless ? test : test.skip;
const rootTest = rootless ? test.skip : test;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tspod-userns-'));
const runroots: string[] = [];
function newRunroot(): string {
  const dir = path.join(tmp, `runroot${runroots.length}`);
  runroots.push(dir);
  return dir;
}

function run(argv: string[]): string {
  return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' });
}

function alive(pid: number): boolean {
  try {
    readlinkSync(`/proc/${pid}/ns/user`);
    return true;
  } catch {
    return false;
  }
}

async function rejects(promise: Promise<unknown>): Promise<TspodError> {
  try {
    await promise;
  } catch (e) {
    assert.instance(e, TspodError, String(e));
    return e as TspodError;
  }
  throw new Error('expected a TspodError, got success');
}

test.after(async () => {
  for (const runroot of runroots) await stopUserNamespace({ runroot });
  rmSync(tmp, { recursive: true, force: true });
});

test('parseSubIdFile: entries by name or uid, several ranges, comments and junk ignored', () => {
  const text = [
    '# ranges',
    'alice:100000:65536',
    'bob:165536:65536',
    '',
    '1000:300000:1000',
    'alice:bad:10',
    'alice:400000:0',
    'alice:500000:10:extra',
    'alice:600000:20',
  ].join('\n');
  assert.equal(parseSubIdFile(text, { name: 'alice', uid: 1000 }), [
    { start: 100000, count: 65536 },
    { start: 300000, count: 1000 },
    { start: 600000, count: 20 },
  ]);
  assert.equal(parseSubIdFile(text, { uid: 1001 }), []);
});

test('subIdRanges: a missing range or file is one clear line naming the user, the file and the fix', async () => {
  const file = path.join(tmp, 'subuid');
  writeFileSync(file, 'someone:100000:65536\n');
  process.env.TSPOD_SUBUID_FILE = file;
  try {
    const e = await rejects(subIdRanges('uid', { name: 'bob', uid: 4242 }));
    assert.is(
      e.line,
      `no subuid range for user "bob" in ${file}: add one, e.g. as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 bob`,
    );
    process.env.TSPOD_SUBUID_FILE = path.join(tmp, 'absent');
    assert.match((await rejects(subIdRanges('uid', { name: 'bob', uid: 4242 }))).line, /^no subuid range for user "bob" in .*absent: add one/);
    process.env.TSPOD_SUBUID_FILE = file;
    assert.equal(await subIdRanges('uid', { name: 'someone', uid: 4242 }), [{ start: 100000, count: 65536 }]);
  } finally {
    delete process.env.TSPOD_SUBUID_FILE;
  }
});

test('mappingArgs: the user is container root, the subordinate ranges follow one another', () => {
  assert.equal(mappingArgs(1001, [{ start: 200000, count: 65536 }]), ['0', '1001', '1', '1', '200000', '65536']);
  assert.equal(mappingArgs(1001, [{ start: 200000, count: 10 }, { start: 500000, count: 5 }]), [
    '0', '1001', '1', '1', '200000', '10', '11', '500000', '5',
  ]);
  assert.equal(parseIdMap('         0       1001          1\n         1     200000      65536\n'), [
    { containerID: 0, hostID: 1001, size: 1 },
    { containerID: 1, hostID: 200000, size: 65536 },
  ]);
});

rootTest('as root: no user namespace, no pause process, wrap() leaves argv alone', async () => {
  const runroot = newRunroot();
  const ns = await joinUserNamespace({ runroot });
  assert.is(ns.rootless, false);
  assert.is(ns.pausePid, undefined);
  assert.equal(ns.uidMappings, parseIdMap(readFileSync('/proc/self/uid_map', 'utf8')));
  assert.equal(ns.uidMappings[0], { containerID: 0, hostID: 0, size: 4294967295 });
  assert.equal(ns.wrap(['id', '-u']), ['id', '-u']);
  assert.not.ok(existsSync(path.join(runroot, 'pause.pid')));
  await stopUserNamespace({ runroot });
});

rootlessTest('rootless: the pause process maps the user to root and the subordinate ranges after it', async () => {
  const runroot = newRunroot();
  const ns = await joinUserNamespace({ runroot });
  const user = currentUser();
  const uidRanges = await subIdRanges('uid', user);
  assert.is(ns.rootless, true);
  assert.ok(ns.pausePid && alive(ns.pausePid));
  assert.equal(ns.uidMappings[0], { containerID: 0, hostID: process.geteuid!(), size: 1 });
  assert.equal(ns.uidMappings[1], { containerID: 1, hostID: uidRanges[0].start, size: uidRanges[0].count });
  assert.equal(ns.gidMappings[0], { containerID: 0, hostID: process.getegid!(), size: 1 });
  assert.is(run(ns.wrap(['id', '-u'])).trim(), '0');
  // The same mount namespace as the pause process, not a new one per command.
  assert.is(run(ns.wrap(['readlink', '/proc/self/ns/mnt'])).trim(), readlinkSync(`/proc/${ns.pausePid}/ns/mnt`));
  assert.is(readFileSync(path.join(runroot, 'pause.pid'), 'utf8').split('\n')[0], String(ns.pausePid));
  // It is its own session leader, detached from ours.
  const stat = readFileSync(`/proc/${ns.pausePid}/stat`, 'utf8').split(') ')[1].split(' ');
  assert.is(Number(stat[3]), ns.pausePid, 'session id');

  const again = await joinUserNamespace({ runroot });
  assert.is(again.pausePid, ns.pausePid);
});

rootlessTest('rootless: a mount made in one command is seen by the next', async () => {
  const runroot = newRunroot();
  const ns = await joinUserNamespace({ runroot });
  const dir = mkdtempSync(path.join(tmp, 'mnt-'));
  run(ns.wrap(['mount', '-t', 'tmpfs', 'tmpfs', dir]));
  run(ns.wrap(['touch', `${dir}/inside`]));
  assert.is(run(ns.wrap(['ls', dir])).trim(), 'inside');
  assert.not.ok(existsSync(`${dir}/inside`), 'the mount is private to the namespace');
  run(ns.wrap(['umount', dir]));
});

rootlessTest('rootless: concurrent first joins from several processes create one pause process that outlives them', async () => {
  const runroot = newRunroot();
  const script = `import { joinUserNamespace } from ${JSON.stringify(USERNS_JS)};
    const ns = await joinUserNamespace({ runroot: ${JSON.stringify(runroot)} });
    console.log(ns.pausePid);`;
  const pids = await Promise.all(
    [1, 2, 3, 4].map(
      () =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          child.stdout.on('data', (d) => (out += d));
          child.on('error', reject);
          child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`join exited ${code}`))));
        }),
    ),
  );
  assert.is(new Set(pids).size, 1, pids.join(' '));
  const ns = await joinUserNamespace({ runroot });
  assert.is(String(ns.pausePid), pids[0]);
  assert.ok(alive(ns.pausePid!));
});

rootlessTest('rootless: stop kills the pause process and removes the pid file; the next join starts a new one', async () => {
  const runroot = newRunroot();
  const first = await joinUserNamespace({ runroot });
  await stopUserNamespace({ runroot });
  assert.not.ok(alive(first.pausePid!));
  assert.not.ok(existsSync(path.join(runroot, 'pause.pid')));
  await stopUserNamespace({ runroot });

  // (Namespace inode numbers are recycled, so the new one is told apart by its pid.)
  const second = await joinUserNamespace({ runroot });
  assert.ok(alive(second.pausePid!));
  assert.is.not(second.pausePid, first.pausePid);
});

rootlessTest('rootless: a pause process killed by hand is re-created by the next join', async () => {
  const runroot = newRunroot();
  const first = await joinUserNamespace({ runroot });
  process.kill(first.pausePid!, 'SIGKILL');
  while (alive(first.pausePid!)) await new Promise((resolve) => setTimeout(resolve, 10));
  const second = await joinUserNamespace({ runroot });
  assert.ok(alive(second.pausePid!));
  assert.is.not(second.pausePid, first.pausePid);
  assert.is(run(second.wrap(['id', '-u'])).trim(), '0');
});

rootlessTest('rootless: a pid file naming some other live process is not trusted', async () => {
  const runroot = newRunroot();
  const first = await joinUserNamespace({ runroot });
  const pidFile = path.join(runroot, 'pause.pid');
  const [, userNs, mountNs] = readFileSync(pidFile, 'utf8').split('\n');
  // Our own pid (alive, same user, but not in that namespace) with the recorded namespaces.
  writeFileSync(pidFile, `${process.pid}\n${userNs}\n${mountNs}\n`);
  const second = await joinUserNamespace({ runroot });
  assert.is.not(second.pausePid, process.pid);
  assert.is.not(second.pausePid, first.pausePid);
  assert.ok(alive(second.pausePid!));
  process.kill(first.pausePid!, 'SIGKILL');
});

rootlessTest('rootless: no subuid range is one clear error, and nothing is left behind', async () => {
  const runroot = newRunroot();
  const file = path.join(tmp, 'subuid-other');
  writeFileSync(file, 'someone-else:100000:65536\n');
  process.env.TSPOD_SUBUID_FILE = file;
  try {
    const e = await rejects(joinUserNamespace({ runroot }));
    const who = currentUser().name;
    assert.is(
      e.line,
      `no subuid range for user "${who}" in ${file}: add one, e.g. as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${who}`,
    );
  } finally {
    delete process.env.TSPOD_SUBUID_FILE;
  }
  assert.not.ok(existsSync(path.join(runroot, 'pause.pid')));
});

rootlessTest('rootless: a range newuidmap refuses fails with its reason, no process or pid file left', async () => {
  const runroot = newRunroot();
  const file = path.join(tmp, 'subuid-unallowed');
  // Not in /etc/subuid, so newuidmap (which reads the real file) refuses it.
  writeFileSync(file, `${currentUser().name}:3000000000:65536\n`);
  process.env.TSPOD_SUBUID_FILE = file;
  const before = new Set(execFileSync('pgrep', ['-u', String(process.geteuid!())], { encoding: 'utf8' }).split('\n'));
  try {
    const e = await rejects(joinUserNamespace({ runroot }));
    assert.match(e.line, /^newuidmap failed \(newuidmap: .*not allowed\): check the ranges of user/);
    assert.not.match(e.line, /\n/);
  } finally {
    delete process.env.TSPOD_SUBUID_FILE;
  }
  assert.not.ok(existsSync(path.join(runroot, 'pause.pid')));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const leaked = execFileSync('pgrep', ['-u', String(process.geteuid!()), '-a'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line && !before.has(line.split(' ')[0]) && line.includes('tspod-pause'));
  assert.equal(leaked, []);
});

rootlessTest('rootless: disabled user namespaces are one clear line naming the sysctl to change', () => {
  // user.max_user_namespaces is per user namespace: in one of our own, set it to 0 and run tspod
  // there as a non-root id, so its unshare fails for real.
  // Reachable by that id, which is not us: not inside our private temporary directory.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tspod-userns-disabled-'));
  chmodSync(dir, 0o777);
  const subids = path.join(dir, 'subid');
  writeFileSync(subids, '1000:1:100\n', { mode: 0o644 });
  const script = `import { joinUserNamespace } from ${JSON.stringify(USERNS_JS)};
    try { await joinUserNamespace({ runroot: ${JSON.stringify(path.join(dir, 'runroot'))} }); console.log('joined'); }
    catch (e) { console.log(e.line); }`;
  let output: string;
  try {
    output = execFileSync(
      'unshare',
      ['-U', '--map-auto', '--map-root-user', 'sh', '-c', 'echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv --reuid=1000 --regid=1000 --clear-groups "$@"',
        'sh', process.execPath, '--input-type=module', '-e', script],
      { encoding: 'utf8', env: { ...process.env, TSPOD_SUBUID_FILE: subids, TSPOD_SUBGID_FILE: subids } },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.is(
    output.trim(),
    'cannot create a user namespace (unshare: unshare failed: No space left on device): user namespaces are disabled: as root: sysctl -w user.max_user_namespaces=15000',
  );
});

rootTest(`as ${TEST_USER}: the rootless tests of this file pass`, () => {
  const result = runTestFileAsTestUser('userns');
  assert.is(result.code, 0, result.output);
  assert.match(result.output, /Skipped:\s+2\b/, result.output);
});

test.run();
