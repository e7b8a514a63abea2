/**
 * The doctor on this machine (as root and, in CI's second pass, as the unprivileged test user)
 * and in controlled environments where a prerequisite is missing: a subuid file without the
 * user, an id-map helper without setuid or capabilities, an unusable device, a runtime that does
 * not exist. The CLI is driven end to end through bin/tspod.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isTspodError } from '../src/core/errors.js';
import { checkDevice, checkHelper, checkIdMapHelper, checkOverlay, checkSubIds, runChecks, type Check } from '../src/core/doctor.js';
import { prerequisiteError, problem } from '../src/core/prerequisites.js';
import { findExecutable } from '../src/namespaces/helpers.js';
import { cgroupLayout, parseVersion } from '../src/namespaces/probe.js';
import { findRuntime, probeRuntimes } from '../src/namespaces/runtime.js';
import { resolvePaths } from '../src/store/paths.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/tspod');
const rootless = process.geteuid!() !== 0;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'tspod-doctor-test-'));
const paths = resolvePaths({ root: path.join(scratch, 'root'), runroot: path.join(scratch, 'run') });
const DEVICES = ['/dev/net/tun', '/dev/fuse'];

function tspod(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, '--root', paths.root, '--runroot', paths.runroot, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What the device check must say, judged from the mode bits (the check itself opens the device). */
function deviceUsable(device: string): boolean {
  if (!rootless) return true;
  const st = statSync(device);
  if (st.uid === process.geteuid!()) return (st.mode & 0o600) === 0o600;
  return (st.mode & 0o006) === 0o006;
}

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test('runChecks: every check this machine satisfies passes; the devices follow their modes', async () => {
  const checks = await runChecks({ paths });
  const names = checks.map((c) => c.name);
  for (const name of ['newuidmap', 'newgidmap', 'user namespaces', ...DEVICES, 'overlay', 'OCI runtime', 'conmon', 'network', 'catatonit']) {
    assert.ok(names.includes(name), `no ${name} check in ${names.join(', ')}`);
  }
  assert.is(names.includes('subuid') && names.includes('subgid') && names.includes('id mapping'), rootless);
  for (const check of checks) {
    if (DEVICES.includes(check.name)) {
      assert.is(check.ok, deviceUsable(check.name), `${check.name}: ${check.detail}`);
      if (!check.ok) assert.is(check.fix, `chmod 0666 ${check.name}`);
    } else {
      assert.ok(check.ok, `${check.name}: ${check.detail}`);
    }
  }
  // the overlay is the kernel's on this kernel, so /dev/fuse is not required
  assert.not.ok(checks.find((c) => c.name === '/dev/fuse')!.required);
  if (rootless) {
    const idmap = checks.find((c) => c.name === 'id mapping')!;
    assert.match(idmap.detail, `uids 0->${process.geteuid!()}, 1->`);
    assert.match(idmap.detail, `gids 0->${process.getegid!()}, 1->`);
  }
});

test('system check: one line per check, exit 0 or 125 as the required checks say; doctor is the same command', async () => {
  const json = tspod(['system', 'check', '--format', 'json']);
  const checks = JSON.parse(json.stdout) as Check[];
  const failing = checks.filter((c) => !c.ok && c.required);
  assert.is(json.code, failing.length === 0 ? 0 : 125, json.stderr);

  const plain = tspod(['doctor']);
  assert.is(plain.code, json.code);
  const lines = plain.stdout.trimEnd().split('\n');
  for (const check of checks) {
    const line = lines.find((l) => l.replace(/^\S+ /, '').startsWith(`${check.name}`));
    assert.ok(line, `no line for ${check.name} in:\n${plain.stdout}`);
    if (check.ok) assert.is(line, `ok ${check.name}: ${check.detail}`);
    else {
      const mark = check.required ? 'FAIL' : 'warn';
      assert.ok(line!.startsWith(`${mark} ${check.name}`), line);
      if (check.fix) assert.ok(line!.endsWith(`: ${check.cause} — fix: ${check.fix}`), line);
    }
  }
});

test('a user without subordinate ids gets the usermod command, with a range past everyone else\'s', async () => {
  const file = path.join(scratch, 'subuid');
  writeFileSync(file, 'someone:100000:65536\nother:300000:200000\n');
  process.env.TSPOD_SUBUID_FILE = file;
  try {
    const { check, ranges } = await checkSubIds('uid', { name: 'nobody-here', uid: 54321 });
    assert.equal(ranges, []);
    assert.not.ok(check.ok);
    assert.is(check.cause, `no subuid range for user "nobody-here" in ${file}`);
    assert.is(check.fix, 'usermod --add-subuids 500000-565535 nobody-here');

    const numeric = await checkSubIds('uid', { name: 'nobody-here', uid: 300 });
    writeFileSync(file, '300:400000:1000\n');
    const byUid = await checkSubIds('uid', { name: 'nobody-here', uid: 300 });
    assert.not.ok(numeric.check.ok);
    assert.ok(byUid.check.ok, byUid.check.detail);
    assert.equal(byUid.ranges, [{ start: 400000, count: 1000 }]);
  } finally {
    delete process.env.TSPOD_SUBUID_FILE;
  }
});

test('system check with a subuid file lacking the user fails with exit 125 and the fix (rootless)', () => {
  if (!rootless) return;
  const file = path.join(scratch, 'subuid-empty');
  writeFileSync(file, 'someone:100000:65536\n');
  const user = os.userInfo().username;
  const result = tspod(['system', 'check'], { TSPOD_SUBUID_FILE: file });
  assert.is(result.code, 125);
  assert.ok(
    result.stdout.includes(`FAIL subuid: no subuid range for user "${user}" in ${file} — fix: usermod --add-subuids 165536-231071 ${user}`),
    result.stdout,
  );
  // the id mapping probe needs the ranges, so it is not attempted
  assert.not.ok(result.stdout.includes('id mapping'));
});

test('an id-map helper that is neither setuid nor capable fails with the command that fixes it', async () => {
  const real = findExecutable('newuidmap');
  assert.ok(real, 'newuidmap is installed on these machines');
  const copy = path.join(scratch, 'newuidmap');
  copyFileSync(real!, copy);
  chmodSync(copy, 0o755);
  const plain = await checkIdMapHelper('newuidmap', copy, true);
  assert.not.ok(plain.ok);
  assert.is(plain.fix, `chown root:root ${copy} && chmod 4755 ${copy}`);
  assert.match(plain.cause!, 'cap_setuid');

  const installed = await checkIdMapHelper('newuidmap', real, true);
  assert.ok(installed.ok, installed.detail);

  const missing = await checkIdMapHelper('newgidmap', undefined, true);
  assert.not.ok(missing.ok);
  assert.is(missing.fix, 'apt-get install -y uidmap');

  // file capabilities count as much as setuid (setting them needs root)
  const setcap = findExecutable('setcap');
  if (!rootless && setcap) {
    execFileSync(setcap, ['cap_setuid=ep', copy]);
    const capable = await checkIdMapHelper('newuidmap', copy, true);
    assert.ok(capable.ok, capable.detail);
    assert.match(capable.detail, 'cap_setuid');
  }
});

test('devices: a missing one names its module, an unopenable one the chmod', () => {
  const missing = checkDevice(path.join(scratch, 'no-such-device'), true, 'test');
  assert.not.ok(missing.ok);
  assert.match(missing.cause!, 'does not exist');

  const file = path.join(scratch, 'read-only-device');
  writeFileSync(file, '');
  chmodSync(file, 0o400);
  const readOnly = checkDevice(file, true, 'test');
  // root opens anything; a user cannot open a 0400 file for writing
  assert.is(readOnly.ok, !rootless);
  if (rootless) {
    assert.is(readOnly.cause, `${file} cannot be opened for reading and writing by uid ${process.geteuid!()} (mode 0400)`);
    assert.is(readOnly.fix, `chmod 0666 ${file}`);
  }
});

test('overlay: without the kernel\'s, fuse-overlayfs is needed, and /dev/fuse with it', () => {
  const fuseOk: Check = { name: '/dev/fuse', ok: true, required: true, detail: 'ok' };
  const fuseDenied: Check = { name: '/dev/fuse', ok: false, required: true, ...problem('device-denied', '/dev/fuse', 1000, 0o600), detail: '' };
  const helper = { name: 'fuse-overlayfs', path: '/usr/bin/fuse-overlayfs', version: '1.10' };
  assert.ok(checkOverlay(undefined, true, undefined, fuseDenied).ok);
  const none = checkOverlay('permission denied', true, undefined, fuseOk);
  assert.not.ok(none.ok);
  assert.is(none.fix, 'apt-get install -y fuse-overlayfs');
  assert.ok(checkOverlay('permission denied', true, helper, fuseOk).ok);
  const denied = checkOverlay('permission denied', true, helper, fuseDenied);
  assert.not.ok(denied.ok);
  assert.is(denied.fix, 'chmod 0666 /dev/fuse');
});

test('prerequisiteError says what the doctor says, on one line', () => {
  const check = checkHelper('conmon', undefined, true);
  const error = prerequisiteError('helper-missing', 'conmon');
  assert.ok(isTspodError(error));
  assert.is(error.exitCode, 125);
  assert.is(error.line, `${check.cause}: as root: ${check.fix}`);
  assert.is(error.line, 'conmon is not installed: as root: apt-get install -y conmon');
  assert.not.match(error.line, '\n');
});

test('runtime: runc is chosen on hybrid cgroups, crun otherwise may be; an explicit crun needs the cgroup2 mount hidden', async () => {
  const hybrid = cgroupLayout().hybrid;
  const runtime = await findRuntime(undefined, { runroot: paths.runroot });
  assert.is(runtime.name, 'runc');
  assert.is(runtime.path, findExecutable('runc'));
  assert.is(runtime.version, parseVersion(execFileSync(runtime.path, ['--version'], { encoding: 'utf8' })));
  assert.not.ok(runtime.hideUnifiedCgroup);

  const crun = (await probeRuntimes(undefined, { runroot: paths.runroot })).find((p) => p.requested === 'crun')!;
  assert.is(crun.usable, !hybrid, crun.reason);
  if (hybrid) assert.match(crun.reason!, 'hybrid');
  const explicit = await findRuntime('crun', { runroot: paths.runroot });
  assert.is(explicit.name, 'crun');
  assert.is(explicit.hideUnifiedCgroup, hybrid);
});

test('runtime: the probe is cached by path, mtime and size, and redone when the binary changes', async () => {
  const runroot = path.join(scratch, 'cache-run');
  const copy = path.join(scratch, 'my-runc');
  copyFileSync(findExecutable('runc')!, copy);
  chmodSync(copy, 0o755);
  const first = await findRuntime(copy, { runroot });
  assert.is(first.path, copy);
  assert.is(first.name, 'runc');
  const cacheFile = path.join(runroot, 'runtime.json');
  const cache = JSON.parse(readFileSync(cacheFile, 'utf8'));
  assert.is(cache[copy].version, first.version);

  // an answer from the cache is all a later call sees while the binary is unchanged
  cache[copy].version = 'from-the-cache';
  writeFileSync(cacheFile, JSON.stringify(cache));
  assert.is((await findRuntime(copy, { runroot })).version, 'from-the-cache');
  assert.is((await findRuntime(copy, { runroot, fresh: true })).version, first.version);

  cache[copy].version = 'from-the-cache';
  writeFileSync(cacheFile, JSON.stringify(cache));
  utimesSync(copy, new Date(), new Date(Date.now() - 3600_000));
  assert.is((await findRuntime(copy, { runroot })).version, first.version);
});

test('runtime: an explicit runtime that does not exist is an error, and a failing doctor check', async () => {
  const missing = path.join(scratch, 'no-such-runtime');
  try {
    await findRuntime(missing, { runroot: paths.runroot });
    assert.unreachable('findRuntime accepted a missing runtime');
  } catch (e) {
    assert.ok(isTspodError(e), String(e));
    assert.match((e as Error).message, missing);
  }
  const result = tspod(['system', 'check', '--runtime', missing]);
  assert.is(result.code, 125);
  assert.match(result.stdout, /^FAIL OCI runtime: .*no-such-runtime/m);
});

test('system check rejects formats other than json with one line', () => {
  const result = tspod(['system', 'check', '--format', '{{.Name}}']);
  assert.is(result.code, 125);
  assert.is(result.stderr.trim().split('\n').length, 1);
  assert.match(result.stderr, /^Error: unknown format/);
});

test.run();
