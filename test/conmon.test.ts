/**
 * conmon and the OCI runtime, for real: containers of a busybox rootfs are created through conmon
 * (sync pipe), started, logged (k8s-file), waited for (exit files), signalled and deleted, as root
 * and (run by the suite as the test user) rootless inside tspod's user namespace. After every
 * test, no conmon, runtime or container process and no mount may be left.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND, TspodError } from '../src/core/errors.js';
import {
  attachSocketPath,
  createError,
  exitFilePath,
  launchConmon,
  readExitCode,
  resizeTerminal,
  waitForExit,
} from '../src/namespaces/conmon.js';
import { ContainerNotRunningError, runtimeDelete, runtimeKill, runtimePause, runtimeResume, runtimeStart, runtimeState } from '../src/namespaces/oci-runtime.js';
import { alive, gone, launch, logRecords, makeContainer, mountsUnder, noProcessesMentioning, openLab, processesMentioning, stateOf, type Lab, type TestContainer } from './harness/bundle.js';

const test = suite('conmon');
let lab: Lab;

test.before(async () => {
  lab = await openLab('conmon');
});

test.after(async () => {
  await lab.close();
});

/** Everything a finished container may leave: nothing running, nothing mounted, runtime state gone. */
async function assertClean(c: TestContainer): Promise<void> {
  await runtimeDelete(lab.rc, c.id, { force: true });
  assert.ok(await gone(c.conmonPid), `conmon ${c.conmonPid} still running`);
  assert.not.ok(alive(c.pid), `container process ${c.pid} still running`);
  assert.equal(processesMentioning(c.bundle), [], 'processes of the container left');
  assert.equal(mountsUnder(lab, lab.dir), [], 'mounts left');
  assert.is(await stateOf(lab, c), undefined);
}

/** The error `promise` rejects with (failing the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<TspodError> {
  try {
    await promise;
  } catch (e) {
    assert.instance(e, TspodError, String(e));
    return e as TspodError;
  }
  throw new assert.Assertion({ message: 'expected a rejection', generated: false, operator: 'rejects', expects: 'error', actual: 'success' });
}

async function run(args: string[]): Promise<{ c: TestContainer; code: number }> {
  const c = await launch(lab, args);
  assert.is(await stateOf(lab, c), 'created');
  await runtimeStart(lab.rc, c.id);
  return { c, code: await waitForExit(c.runDir, c.id, { conmonPid: c.conmonPid }) };
}

test('create reports the pid, start runs it: stdout and stderr logged with their stream tags, exit code 0 in exits/', async () => {
  const c = await launch(lab, ['sh', '-c', 'echo hello; echo err >&2']);
  assert.ok(c.pid! > 0 && c.conmonPid! > 0 && c.pid !== c.conmonPid);
  assert.ok(alive(c.pid) && alive(c.conmonPid));
  assert.is(readFileSync(path.join(c.runDir, 'conmon.pid'), 'utf8').trim(), String(c.conmonPid));
  assert.is(readFileSync(path.join(c.runDir, 'pidfile'), 'utf8').trim(), String(c.pid));
  assert.equal(await runtimeState(lab.rc, c.id), { status: 'created', pid: c.pid! });
  assert.ok(existsSync(attachSocketPath(c.runDir, c.id)), 'attach socket');
  assert.is(await readExitCode(c.runDir, c.id), undefined);

  await runtimeStart(lab.rc, c.id);
  assert.is(await waitForExit(c.runDir, c.id, { conmonPid: c.conmonPid }), 0);
  assert.is(readFileSync(exitFilePath(c.runDir, c.id), 'utf8'), '0');
  assert.is(await readExitCode(c.runDir, c.id), 0);
  // Which of the two pipes conmon reads first is up to it: compare as a set.
  assert.equal(logRecords(c).sort(), ['stderr F err', 'stdout F hello']);
  assert.match(readFileSync(c.logPath, 'utf8'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}[+-]\d\d:\d\d stdout F hello$/m);
  assert.is((await runtimeState(lab.rc, c.id))?.status, 'stopped');
  assert.ok(await gone(c.conmonPid));
  assert.not.ok(existsSync(attachSocketPath(c.runDir, c.id)), 'conmon removes its attach socket when it ends');
  await assertClean(c);
});

test('the exit code is the container process\'s own', async () => {
  const { c, code } = await run(['sh', '-c', 'exit 3']);
  assert.is(code, 3);
  await assertClean(c);
});

test('a line without newline is logged as a partial record (P)', async () => {
  const { c, code } = await run(['printf', 'no newline']);
  assert.is(code, 0);
  assert.equal(logRecords(c), ['stdout P no newline']);
  await assertClean(c);
});

test('a command that does not exist: 127 with the runtime\'s message, nothing left behind', async () => {
  const c = makeContainer(lab, ['nosuch']);
  const error = await rejection(launchConmon(c.request));
  assert.is(error.exitCode, EXIT_NOT_FOUND);
  assert.match(error.message, lab.rc.runtime.name === 'runc' ? 'exec: "nosuch": executable file not found in $PATH' : /nosuch.*not found/);
  assert.match(error.line, /^(runc|crun): .*: OCI runtime attempted to invoke a command that was not found$/);
  assert.not.ok(existsSync(attachSocketPath(c.runDir, c.id)), 'attach socket removed');
  assert.not.ok(existsSync(path.join(c.bundle, 'ctl')), 'ctl fifo removed');
  assert.equal(await noProcessesMentioning(c.bundle), []);
  assert.is(await stateOf(lab, c), undefined);
  assert.is(await readExitCode(c.runDir, c.id), undefined);
});

test('a file that is not executable: 126', async () => {
  const c = makeContainer(lab, ['/etc/plain']);
  const e = await rejection(launchConmon(c.request));
  assert.is(e.exitCode, EXIT_CANNOT_INVOKE, e.message);
  assert.match(e.line, /permission denied.*: OCI permission denied$/i);
  assert.equal(await noProcessesMentioning(c.bundle), []);
});

test('conmon runs the exit command when create fails too', async () => {
  const c = makeContainer(lab, ['nosuch']);
  const marker = path.join(lab.dir, `${c.id}.exit-command`);
  const script = path.join(lab.dir, `${c.id}.sh`);
  writeFileSync(script, `#!/bin/sh\necho "$@" > "${marker}.tmp" && mv "${marker}.tmp" "${marker}"\n`, { mode: 0o755 });
  assert.is((await rejection(launchConmon({ ...c.request, exitCommand: [script, 'cleanup', c.id] }))).exitCode, EXIT_NOT_FOUND);
  assert.equal(await noProcessesMentioning(c.bundle), []);
  assert.is(readFileSync(marker, 'utf8'), `cleanup ${c.id}\n`);
  assert.is(await readExitCode(c.runDir, c.id), undefined);
});

test('createError: only errors about the command map to 126/127', () => {
  const runc = (msg: string) => `time="2024-01-01T00:00:00Z" level=error msg="${msg.replaceAll('"', '\\"')}"\n`;
  const notFound = createError('runc', runc('runc create failed: unable to start container process: exec: "nosuch": executable file not found in $PATH'));
  assert.is(notFound.exitCode, 127);
  assert.is(notFound.message, 'runc: runc create failed: unable to start container process: exec: "nosuch": executable file not found in $PATH');
  assert.is(createError('runc', runc('exec: "/x": stat /x: no such file or directory')).exitCode, 127);
  assert.is(createError('runc', runc('exec: "/etc": permission denied')).exitCode, 126);
  assert.is(createError('crun', 'executable file `nosuch` not found in $PATH: No such file or directory\n').exitCode, 127);
  assert.is(createError('crun', 'open executable: Permission denied\n').exitCode, 126);
  const cgroup = createError('crun', 'creating cgroup directory `/sys/fs/cgroup/x`: No such file or directory');
  assert.is(cgroup.exitCode, 125);
  assert.is(cgroup.line, 'crun: creating cgroup directory `/sys/fs/cgroup/x`: No such file or directory: OCI runtime error');
});

test('runtimeKill SIGTERM: the container ends by the signal (143); then kill says not running and delete cleans up', async () => {
  const c = await launch(lab, ['sleep', '100'], { init: true });
  await runtimeStart(lab.rc, c.id);
  assert.is((await runtimeState(lab.rc, c.id))?.status, 'running');
  await runtimeKill(lab.rc, c.id, 'SIGTERM');
  assert.is(await waitForExit(c.runDir, c.id, { conmonPid: c.conmonPid }), 143);
  assert.instance(await rejection(runtimeKill(lab.rc, c.id, 15)), ContainerNotRunningError);
  await runtimeDelete(lab.rc, c.id);
  assert.is(await stateOf(lab, c), undefined);
  await runtimeDelete(lab.rc, c.id);
  await runtimeDelete(lab.rc, c.id, { force: true });
  await assertClean(c);
});

test('SIGKILL by number ends a PID 1 without handlers (137); kill of an unknown container is "not running"', async () => {
  const c = await launch(lab, ['sleep', '100']);
  await runtimeStart(lab.rc, c.id);
  await runtimeKill(lab.rc, c.id, 9);
  assert.is(await waitForExit(c.runDir, c.id), 137);
  await assertClean(c);
  const e = await rejection(runtimeKill(lab.rc, 'nosuch', 'KILL'));
  assert.instance(e, ContainerNotRunningError);
  assert.is(e.exitCode, 125);
});

test('runtimeDelete --force removes a running container; conmon records the kill and ends', async () => {
  const c = await launch(lab, ['sleep', '100']);
  await runtimeStart(lab.rc, c.id);
  await rejection(runtimeDelete(lab.rc, c.id)); // without force, a running container stays
  await runtimeDelete(lab.rc, c.id, { force: true });
  assert.is(await waitForExit(c.runDir, c.id, { conmonPid: c.conmonPid }), 137);
  await assertClean(c);
});

test('a created container that is deleted instead of started: conmon ends, exit code recorded', async () => {
  const c = await launch(lab, ['true']);
  await runtimeDelete(lab.rc, c.id, { force: true });
  assert.is(await waitForExit(c.runDir, c.id, { conmonPid: c.conmonPid }), 137);
  await assertClean(c);
});

test('the exit command runs after the exit code is written, with its arguments', async () => {
  const c = makeContainer(lab, ['sh', '-c', 'exit 5']);
  const marker = path.join(lab.dir, `${c.id}.exit-command`);
  const script = path.join(lab.dir, `${c.id}.sh`);
  writeFileSync(script, `#!/bin/sh\n{ echo "$@"; cat "${exitFilePath(c.runDir, c.id)}"; } > "${marker}.tmp" && mv "${marker}.tmp" "${marker}"\n`, { mode: 0o755 });
  Object.assign(c, await launchConmon({ ...c.request, exitCommand: [script, 'container', 'cleanup', c.id] }));
  await runtimeStart(lab.rc, c.id);
  assert.is(await waitForExit(c.runDir, c.id), 5);
  assert.ok(await gone(c.conmonPid), 'conmon waits for its exit command, then ends');
  assert.is(readFileSync(marker, 'utf8'), `container cleanup ${c.id}\n5`);
  await assertClean(c);
});

test('waitForExit: stops on abort; fails when conmon is gone without an exit file', async () => {
  const c = await launch(lab, ['sleep', '100']);
  await runtimeStart(lab.rc, c.id);
  const controller = new AbortController();
  const waiting = waitForExit(c.runDir, c.id, { signal: controller.signal });
  controller.abort(new Error('stop waiting'));
  await waiting.then(
    () => assert.unreachable('resolved after abort'),
    (e: Error) => assert.is(e.message, 'stop waiting'),
  );
  process.kill(c.conmonPid!, 'SIGKILL');
  assert.match((await rejection(waitForExit(c.runDir, c.id, { conmonPid: c.conmonPid }))).message, /exited without recording/);
  await assertClean(c);
});

test('pause and resume: the freezer as root; rootless on cgroup v1, one clear error', async () => {
  const c = await launch(lab, ['sleep', '100']);
  await runtimeStart(lab.rc, c.id);
  const cgroupV2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  if (lab.rc.ns.rootless && !cgroupV2) {
    const e = await rejection(runtimePause(lab.rc, c.id));
    assert.match(e.line, /^cannot pause container \S+: rootless containers have no cgroup freezer on cgroup v1 \(.*\): run as root/);
    assert.is((await runtimeState(lab.rc, c.id))?.status, 'running');
  } else {
    await runtimePause(lab.rc, c.id);
    assert.is((await runtimeState(lab.rc, c.id))?.status, 'paused');
    const freezer = /^\d+:freezer:(.*)$/m.exec(readFileSync(`/proc/${c.pid}/cgroup`, 'utf8'))?.[1];
    if (freezer) assert.is(readFileSync(`/sys/fs/cgroup/freezer${freezer}/freezer.state`, 'utf8').trim(), 'FROZEN');
    await runtimeResume(lab.rc, c.id);
    assert.is((await runtimeState(lab.rc, c.id))?.status, 'running');
  }
  await runtimeKill(lab.rc, c.id, 'KILL');
  assert.is(await waitForExit(c.runDir, c.id), 137);
  await assertClean(c);
});

test('resizeTerminal: a bundle without conmon is no error', async () => {
  await resizeTerminal(lab.dir, 24, 80);
  const c = makeContainer(lab, ['true']);
  await resizeTerminal(c.bundle, 24, 80);
});

test.run();
