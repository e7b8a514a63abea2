/** Parsing of run/create flag values, against Docker's (and where Docker has none, Podman's) rules. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TspodError } from '../src/core/errors.js';
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  DEFAULT_PATH_ENV,
  mergeEnv,
  parseCapabilities,
  parseEnv,
  parseLabels,
  parseRestart,
  parseSecurityOpt,
  parseSignal,
  parseTmpfs,
  parseUlimit,
} from '../src/core/run-options.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'tspod-run-options-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const p = path.join(tmp, name);
  writeFileSync(p, content);
  return p;
}

/** The error a call throws: a one-line TspodError with exit code 125. */
function error(fn: () => unknown): TspodError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, TspodError, String(e));
    const err = e as TspodError;
    assert.is(err.exitCode, 125);
    assert.not.match(err.line, /\n/);
    return err;
  }
  throw new Error('expected a TspodError');
}

test('parseEnv: VAR=value as given, bare VAR from the host or left bare (it unsets), env files first', () => {
  const host = { HOSTVAR: 'from host', EMPTY: '' };
  assert.equal(parseEnv(['A=1', 'B=', 'C=x=y', 'HOSTVAR', 'MISSING', 'EMPTY', ' SP = v '], [], host), [
    'A=1',
    'B=',
    'C=x=y',
    'HOSTVAR=from host',
    'MISSING',
    'EMPTY=',
    ' SP = v ',
  ]);
  const envFile = file(
    'env',
    '\uFEFF# comment\n\n  INDENTED=kept as is  \nQUOTED="not unquoted"\nHOSTVAR\nMISSING\n   # indented comment\nCRLF=1\r\nA=from file\n',
  );
  assert.equal(parseEnv(['A=flag'], [envFile], host), [
    'INDENTED=kept as is  ',
    'QUOTED="not unquoted"',
    'HOSTVAR=from host',
    'CRLF=1',
    'A=from file',
    'A=flag',
  ]);
});

test('parseEnv: bad values and files are one-line errors naming the flag', () => {
  assert.match(error(() => parseEnv(['=x'], [], {})).line, /^invalid --env value "=x"/);
  assert.match(error(() => parseEnv([], [path.join(tmp, 'nope')], {})).line, /^--env-file .*nope: no such file$/);
  assert.match(error(() => parseEnv([], [tmp], {})).line, /is a directory/);
  assert.match(error(() => parseEnv([], [file('ws', 'MY VAR=1\n')], {})).line, /line 1: "MY VAR" contains whitespace/);
  assert.match(error(() => parseEnv([], [file('noname', 'A=1\n=2\n')], {})).line, /line 2 has no variable name/);
  assert.match(error(() => parseEnv([], [file('latin1', Buffer.from([0x41, 0x3d, 0xe9, 0x0a]))], {})).line, /not valid UTF-8/);
});

test('mergeEnv: Docker order, user over image, bare VAR unsets, PATH/HOSTNAME/TERM/HOME defaults', () => {
  assert.equal(mergeEnv([], []), [DEFAULT_PATH_ENV]);
  assert.equal(
    mergeEnv(['PATH=/image/bin', 'LANG=C', 'DROP=me', 'HOME=/image-home'], ['LANG=C.UTF-8', 'DROP', 'X=1', 'X=2'], {
      hostname: 'abc',
      home: '/root',
      terminal: true,
    }),
    ['PATH=/image/bin', 'HOSTNAME=abc', 'TERM=xterm', 'LANG=C.UTF-8', 'X=2', 'HOME=/image-home'],
  );
  assert.equal(mergeEnv([], ['HOSTNAME=mine', 'TERM=vt100'], { hostname: 'abc', home: '/home/app', terminal: true }), [
    DEFAULT_PATH_ENV,
    'HOSTNAME=mine',
    'TERM=vt100',
    'HOME=/home/app',
  ]);
  assert.not.ok(mergeEnv([], [], { terminal: false }).some((e) => e.startsWith('TERM=')));
  assert.equal(mergeEnv(['PATH=/x'], ['PATH']), []);
});

test('parseLabels: KEY=VALUE, KEY alone is empty, label files first, whitespace and empty names refused', () => {
  const labels = file('labels', '# c\na=from file\nb\n  c=3\n');
  assert.equal(parseLabels(['a=flag', 'd', 'e=x=y', 'f= spaced '], [labels]), {
    a: 'flag',
    b: '',
    c: '3',
    d: '',
    e: 'x=y',
    f: ' spaced ',
  });
  assert.equal(parseLabels([]), {});
  assert.match(error(() => parseLabels(['=v'])).line, /^invalid --label value "=v": empty name$/);
  assert.match(error(() => parseLabels(['a b=c'])).line, /contains whitespace/);
  assert.match(error(() => parseLabels([], [path.join(tmp, 'none')])).line, /^--label-file .*: no such file$/);
});

test('parseUlimit: names, soft[:hard], -1 unlimited, Docker\'s checks', () => {
  assert.equal(parseUlimit('nofile=1024:2048'), { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 });
  assert.equal(parseUlimit('nofile=4096'), { type: 'RLIMIT_NOFILE', soft: 4096, hard: 4096 });
  assert.equal(parseUlimit('nproc=-1'), { type: 'RLIMIT_NPROC', soft: -1, hard: -1 });
  assert.equal(parseUlimit('core=0:-1'), { type: 'RLIMIT_CORE', soft: 0, hard: -1 });
  assert.equal(parseUlimit('rttime=1'), { type: 'RLIMIT_RTTIME', soft: 1, hard: 1 });
  for (const [bad, why] of [
    ['nofile', /expected NAME=SOFT\[:HARD\]/],
    ['as=1', /unknown limit "as"/],
    ['constructor=1', /unknown limit/],
    ['nofile=1:2:3', /at most two values/],
    ['nofile=abc', /"abc" is not a number/],
    ['nofile=-2', /"-2" is not a number/],
    ['nofile=2048:1024', /soft limit must not exceed the hard limit: 2048 > 1024/],
    ['nofile=-1:1024', /must not exceed/],
    ['nofile=99999999999999999999', /too large/],
  ] as const) {
    const err = error(() => parseUlimit(bad));
    assert.ok(err.line.startsWith(`invalid --ulimit value "${bad}"`), err.line);
    assert.match(err.line, why);
  }
});

test('parseTmpfs: Podman\'s option defaults, user options first, validation', () => {
  assert.equal(parseTmpfs('/run:rw,size=64m,mode=1777'), {
    destination: '/run',
    options: ['rw', 'size=64m', 'mode=1777', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'],
  });
  assert.equal(parseTmpfs('/data'), { destination: '/data', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'] });
  assert.equal(parseTmpfs('/a/../b//c/:ro,noexec,suid,dev,shared,notmpcopyup'), {
    destination: '/b/c',
    options: ['ro', 'noexec', 'suid', 'dev', 'shared'],
  });
  assert.equal(parseTmpfs('/x:').options, ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup']);
  for (const [bad, why] of [
    ['run', /absolute path/],
    ['/', /over \//],
    ['/x/..', /over \//],
    ['/x:bogus', /unknown option "bogus"/],
    ['/x:size=lots', /size "lots"/],
    ['/x:mode=999', /mode "999"/],
    ['/x:uid=abc', /uid "abc"/],
    ['/x:rw,ro', /"rw" is given twice/],
    ['/x:exec,noexec', /"exec" is given twice/],
    ['/x:private,shared', /"propagation" is given twice/],
    ['/x:foo=1', /unknown option "foo=1"/],
  ] as const) {
    const err = error(() => parseTmpfs(bad));
    assert.ok(err.line.startsWith(`invalid --tmpfs value "${bad}"`), err.line);
    assert.match(err.line, why);
  }
});

test('parseRestart: Docker\'s policies and retry-count rules', () => {
  assert.equal(parseRestart('no'), { name: 'no', maximumRetryCount: 0 });
  assert.equal(parseRestart(''), { name: 'no', maximumRetryCount: 0 });
  assert.equal(parseRestart('always'), { name: 'always', maximumRetryCount: 0 });
  assert.equal(parseRestart('unless-stopped'), { name: 'unless-stopped', maximumRetryCount: 0 });
  assert.equal(parseRestart('on-failure'), { name: 'on-failure', maximumRetryCount: 0 });
  assert.equal(parseRestart('on-failure:5'), { name: 'on-failure', maximumRetryCount: 5 });
  assert.equal(parseRestart('always:0'), { name: 'always', maximumRetryCount: 0 });
  for (const [bad, why] of [
    ['sometimes', /unknown policy/],
    [':3', /no policy before the colon/],
    ['always:3', /only be used with on-failure/],
    ['on-failure:x', /must be an integer/],
    ['on-failure:-1', /cannot be negative/],
  ] as const) {
    const err = error(() => parseRestart(bad));
    assert.ok(err.line.startsWith(`invalid --restart value "${bad}"`), err.line);
    assert.match(err.line, why);
  }
});

test('parseSignal: names with or without SIG in any case, numbers, real-time signals', () => {
  assert.is(parseSignal('SIGTERM'), 15);
  assert.is(parseSignal('TERM'), 15);
  assert.is(parseSignal('term'), 15);
  assert.is(parseSignal('15'), 15);
  assert.is(parseSignal('SIGKILL'), 9);
  assert.is(parseSignal('sigwinch'), 28);
  assert.is(parseSignal('CHLD'), 17);
  assert.is(parseSignal('SIGRTMIN'), 34);
  assert.is(parseSignal('SIGRTMIN+3'), 37);
  assert.is(parseSignal('RTMAX'), 64);
  assert.is(parseSignal('RTMAX-2'), 62);
  assert.is(parseSignal('64'), 64);
  for (const bad of ['0', '65', 'SIGFOO', '', 'RTMIN-1', 'RTMAX+1', 'RTMIN+31', '-9', 'toString', 'SIG']) {
    assert.ok(error(() => parseSignal(bad)).line.startsWith(`invalid signal "${bad}"`), bad);
  }
});

test('parseSecurityOpt: no-new-privileges forms, the unconfined forms, everything else refused clearly', () => {
  assert.equal(parseSecurityOpt('no-new-privileges'), { noNewPrivileges: true });
  assert.equal(parseSecurityOpt('no-new-privileges:true'), { noNewPrivileges: true });
  assert.equal(parseSecurityOpt('no-new-privileges=true'), { noNewPrivileges: true });
  assert.equal(parseSecurityOpt('no-new-privileges:false'), { noNewPrivileges: false });
  assert.equal(parseSecurityOpt('seccomp=unconfined'), { seccompUnconfined: true });
  assert.equal(parseSecurityOpt('seccomp:unconfined'), { seccompUnconfined: true });
  assert.equal(parseSecurityOpt('apparmor=unconfined'), { apparmorUnconfined: true });
  assert.equal(parseSecurityOpt('label=disable'), { labelDisabled: true });
  assert.match(error(() => parseSecurityOpt('no-new-privileges:maybe')).line, /takes true or false/);
  assert.match(error(() => parseSecurityOpt('seccomp=/etc/profile.json')).line, /^unsupported --security-opt value "seccomp=\/etc\/profile.json": tspod applies no seccomp profile; only seccomp=unconfined/);
  assert.match(error(() => parseSecurityOpt('apparmor=docker-default')).line, /no apparmor profile/);
  assert.match(error(() => parseSecurityOpt('label=type:foo_t')).line, /no SELinux labels; only label=disable/);
  assert.match(error(() => parseSecurityOpt('systempaths=unconfined')).line, /supported: no-new-privileges/);
});

test('parseCapabilities: Podman\'s merge rules, names in any form', () => {
  assert.equal(DEFAULT_CAPABILITIES.length, 11);
  assert.equal(parseCapabilities([], [], DEFAULT_CAPABILITIES), [...DEFAULT_CAPABILITIES].sort());
  assert.equal(parseCapabilities(['net_admin', 'CAP_SYS_TIME'], ['chown', 'Cap_Kill'], ['CHOWN', 'KILL', 'SETUID']), [
    'CAP_NET_ADMIN',
    'CAP_SETUID',
    'CAP_SYS_TIME',
  ]);
  assert.equal(parseCapabilities(['NET_RAW'], ['all'], DEFAULT_CAPABILITIES), ['CAP_NET_RAW']);
  assert.equal(parseCapabilities([], ['ALL'], DEFAULT_CAPABILITIES), []);
  assert.equal(parseCapabilities(['all'], ['MKNOD'], DEFAULT_CAPABILITIES), ALL_CAPABILITIES.filter((c) => c !== 'CAP_MKNOD').sort());
  assert.equal(parseCapabilities(['CHOWN'], [], DEFAULT_CAPABILITIES), [...DEFAULT_CAPABILITIES].sort());
  assert.match(error(() => parseCapabilities(['NET_FLY'], [], DEFAULT_CAPABILITIES)).line, /^invalid --cap-add value "NET_FLY": unknown capability$/);
  assert.match(error(() => parseCapabilities([], ['CAP_'], DEFAULT_CAPABILITIES)).line, /^invalid --cap-drop value "CAP_"/);
  assert.match(error(() => parseCapabilities(['ALL'], ['ALL'], DEFAULT_CAPABILITIES)).line, /together are not allowed/);
  assert.match(error(() => parseCapabilities(['chown'], ['CHOWN'], DEFAULT_CAPABILITIES)).line, /CAP_CHOWN is both added/);
});

test.run();
