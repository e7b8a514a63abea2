/**
 * Values of `run`/`create` flags, parsed and checked with Docker's rules (Podman's where Docker has
 * none). Every bad value is a one-line TspodError naming the flag and the value, before anything
 * is created.
 */
import { readFileSync } from 'node:fs';
import { TspodError } from './errors.js';

/* ------------------------------------------------------------------ environment */

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The user's environment: --env-file lines first, then -e flags (later wins when merged).
 * `-e VAR` takes the host's value; if the host has none it stays a bare `VAR`, which unsets VAR
 * in mergeEnv (Docker). A bare `VAR` line in an env file is dropped when the host lacks it.
 */
export function parseEnv(flags: string[], envFiles: string[], hostEnv: NodeJS.ProcessEnv): string[] {
  const fromFiles = envFiles.flatMap((file) =>
    readKeyValueFile('--env-file', file).flatMap(({ key, value }) => {
      if (value !== undefined) return [`${key}=${value}`];
      const host = hostEnv[key];
      return host === undefined ? [] : [`${key}=${host}`];
    }),
  );
  const fromFlags = flags.map((flag) => {
    const eq = flag.indexOf('=');
    const key = eq < 0 ? flag : flag.slice(0, eq);
    if (key === '') throw new TspodError(`invalid --env value "${flag}"`, 'expected VAR=value or VAR');
    if (eq >= 0) return flag;
    const host = hostEnv[key];
    return host === undefined ? key : `${key}=${host}`;
  });
  return [...fromFiles, ...fromFlags];
}

export interface EnvDefaults {
  hostname?: string;
  /** the user's home directory, for HOME when neither the image nor the user sets it */
  home?: string;
  /** a terminal was asked for (-t): TERM=xterm unless set */
  terminal?: boolean;
}

/**
 * The container's environment, as Docker builds it: PATH (default), HOSTNAME and TERM (with -t)
 * first, replaced by the user's variables and then the image's variables the user did not set;
 * a bare `VAR` (no `=`) removes VAR. HOME is added last if still missing.
 */
export function mergeEnv(imageEnv: string[], userEnv: string[], defaults: EnvDefaults = {}): string[] {
  const keyOf = (entry: string) => entry.split('=', 1)[0];
  const userKeys = new Set(userEnv.map(keyOf));
  const config = [...userEnv, ...imageEnv.filter((entry) => !userKeys.has(keyOf(entry)))];

  const env = new Map<string, string>();
  const put = (entry: string) => env.set(keyOf(entry), entry);
  put(DEFAULT_PATH_ENV);
  if (defaults.hostname !== undefined) put(`HOSTNAME=${defaults.hostname}`);
  if (defaults.terminal) put('TERM=xterm');
  for (const entry of config) put(entry);
  if (defaults.home !== undefined && !env.has('HOME')) put(`HOME=${defaults.home}`);
  return [...env.values()].filter((entry) => entry.includes('='));
}

/* ------------------------------------------------------------------ labels */

/** --label KEY[=VALUE] (a missing value is ''), --label-file lines first; later wins. */
export function parseLabels(flags: string[], labelFiles: string[] = []): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const file of labelFiles) {
    for (const { key, value } of readKeyValueFile('--label-file', file)) labels[key] = value ?? '';
  }
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const key = (eq < 0 ? flag : flag.slice(0, eq)).replace(/^\s+/, '');
    if (key === '') throw new TspodError(`invalid --label value "${flag}"`, 'empty name');
    if (/\s/.test(key)) throw new TspodError(`invalid --label value "${flag}"`, `the name "${key}" contains whitespace`);
    labels[key] = eq < 0 ? '' : flag.slice(eq + 1);
  }
  return labels;
}

/**
 * Docker's KEY=VALUE file format: leading whitespace ignored, '#' lines and empty lines skipped,
 * values kept verbatim (no quotes, no trimming), a UTF-8 BOM at the start dropped.
 */
function readKeyValueFile(flag: string, file: string): { key: string; value?: string }[] {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TspodError(`${flag} ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new TspodError(`${flag} ${file}: not valid UTF-8`);
  }
  const entries: { key: string; value?: string }[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, index) => {
      const line = raw.replace(/^\s+/, '');
      if (line === '' || line.startsWith('#')) return;
      const eq = line.indexOf('=');
      const key = eq < 0 ? line.trimEnd() : line.slice(0, eq);
      if (key === '') throw new TspodError(`${flag} ${file}: line ${index + 1} has no variable name`);
      if (/\s/.test(key)) throw new TspodError(`${flag} ${file}: line ${index + 1}: "${key}" contains whitespace`);
      entries.push(eq < 0 ? { key } : { key, value: line.slice(eq + 1) });
    });
  return entries;
}

/* ------------------------------------------------------------------ ulimits */

/** Docker's --ulimit names and the OCI rlimit each sets (no "as": Docker has none). */
const ULIMITS: Record<string, string> = {
  core: 'RLIMIT_CORE',
  cpu: 'RLIMIT_CPU',
  data: 'RLIMIT_DATA',
  fsize: 'RLIMIT_FSIZE',
  locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK',
  msgqueue: 'RLIMIT_MSGQUEUE',
  nice: 'RLIMIT_NICE',
  nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC',
  rss: 'RLIMIT_RSS',
  rtprio: 'RLIMIT_RTPRIO',
  rttime: 'RLIMIT_RTTIME',
  sigpending: 'RLIMIT_SIGPENDING',
  stack: 'RLIMIT_STACK',
};

/** An OCI rlimit; -1 means unlimited. */
export interface Ulimit {
  type: string;
  hard: number;
  soft: number;
}

/** --ulimit NAME=SOFT[:HARD]: type is the OCI name (RLIMIT_NOFILE); -1 is unlimited. */
export function parseUlimit(s: string): Ulimit {
  const bad = (why: string) => new TspodError(`invalid --ulimit value "${s}"`, why);
  const eq = s.indexOf('=');
  if (eq < 0) throw bad('expected NAME=SOFT[:HARD], e.g. nofile=1024:2048');
  const name = s.slice(0, eq);
  const type = Object.hasOwn(ULIMITS, name) ? ULIMITS[name] : undefined;
  if (!type) throw bad(`unknown limit "${name}"; one of ${Object.keys(ULIMITS).join(', ')}`);
  const values = s.slice(eq + 1).split(':');
  if (values.length > 2) throw bad('at most two values, SOFT[:HARD]');
  const [soft, hard = soft] = values.map((v) => {
    if (!/^-?\d+$/.test(v) || (v.startsWith('-') && v !== '-1')) throw bad(`"${v}" is not a number (or -1 for unlimited)`);
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw bad(`${v} is too large`);
    return n;
  });
  if (hard !== -1 && (soft === -1 || soft > hard)) throw bad(`the soft limit must not exceed the hard limit: ${soft} > ${hard}`);
  return { type, hard, soft };
}

/* ------------------------------------------------------------------ tmpfs */

export interface TmpfsMount {
  destination: string;
  options: string[];
}

const TMPFS_FLAGS = new Set([
  'rw', 'ro', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev',
  'atime', 'noatime', 'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'diratime', 'nodiratime',
  'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave',
  'tmpcopyup', 'notmpcopyup',
]);
const PROPAGATION = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

/**
 * --tmpfs DEST[:OPTIONS]. The options come back as Podman passes them to the runtime: the user's
 * first, then rw, rprivate, nosuid, nodev and tmpcopyup unless the user chose otherwise (exec is
 * allowed by default, as in Podman; Docker adds noexec).
 */
export function parseTmpfs(s: string): TmpfsMount {
  const bad = (why: string) => new TspodError(`invalid --tmpfs value "${s}"`, why);
  const colon = s.indexOf(':');
  const dest = colon < 0 ? s : s.slice(0, colon);
  if (!dest.startsWith('/')) throw bad('the destination must be an absolute path');
  const destination = normalizePath(dest);
  if (destination === '/') throw bad('cannot mount a tmpfs over /');
  const options = colon < 0 || s.slice(colon + 1) === '' ? [] : s.slice(colon + 1).split(',');
  const seen = new Set<string>();
  for (const option of options) {
    const [key, value] = splitOption(option);
    if (value === undefined ? !TMPFS_FLAGS.has(key) : !['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks'].includes(key)) {
      throw bad(`unknown option "${option}"`);
    }
    if (key === 'size' && !/^\d+[kmgKMG%]?$/.test(value!)) throw bad(`size "${value}" is not a size such as 64m`);
    if (key === 'mode' && !/^[0-7]{1,4}$/.test(value!)) throw bad(`mode "${value}" is not an octal mode such as 1777`);
    if (['uid', 'gid', 'nr_inodes', 'nr_blocks'].includes(key) && !/^\d+[kmgKMG]?$/.test(value!)) throw bad(`${key} "${value}" is not a number`);
    const group = flagGroup(key);
    if (seen.has(group)) throw bad(`"${group}" is given twice`);
    seen.add(group);
  }
  const has = (...names: string[]) => options.some((o) => names.includes(splitOption(o)[0]));
  const result = [...options];
  if (!has('rw', 'ro')) result.unshift('rw');
  if (!options.some((o) => PROPAGATION.has(o))) result.push('rprivate');
  if (!has('suid', 'nosuid')) result.push('nosuid');
  if (!has('dev', 'nodev')) result.push('nodev');
  if (!has('tmpcopyup', 'notmpcopyup')) result.push('tmpcopyup');
  return { destination, options: result.filter((o) => o !== 'notmpcopyup') };
}

function splitOption(option: string): [string, string | undefined] {
  const eq = option.indexOf('=');
  return eq < 0 ? [option, undefined] : [option.slice(0, eq), option.slice(eq + 1)];
}

/** Options that contradict each other share a group; each group may be given once. */
function flagGroup(key: string): string {
  if (PROPAGATION.has(key)) return 'propagation';
  const pairs: Record<string, string> = { ro: 'rw', noexec: 'exec', nosuid: 'suid', nodev: 'dev', notmpcopyup: 'tmpcopyup' };
  return pairs[key] ?? key;
}

function normalizePath(p: string): string {
  const parts: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/* ------------------------------------------------------------------ restart policy */

export interface RestartPolicy {
  name: 'no' | 'always' | 'on-failure' | 'unless-stopped';
  maximumRetryCount: number;
}

/** --restart no|always|unless-stopped|on-failure[:MAX] ('' is no). */
export function parseRestart(s: string): RestartPolicy {
  const bad = (why: string) => new TspodError(`invalid --restart value "${s}"`, why);
  const colon = s.indexOf(':');
  const name = colon < 0 ? s : s.slice(0, colon);
  const count = colon < 0 ? '' : s.slice(colon + 1);
  if (colon >= 0 && name === '') throw bad('no policy before the colon');
  if (!['', 'no', 'always', 'on-failure', 'unless-stopped'].includes(name)) {
    throw bad(`unknown policy; use one of no, always, on-failure[:max-retries], unless-stopped`);
  }
  if (count !== '' && !/^-?\d+$/.test(count)) throw bad('the maximum retry count must be an integer');
  const maximumRetryCount = count === '' ? 0 : Number(count);
  if (name !== 'on-failure' && maximumRetryCount !== 0) throw bad('a maximum retry count can only be used with on-failure');
  if (maximumRetryCount < 0) throw bad('the maximum retry count cannot be negative');
  return { name: (name || 'no') as RestartPolicy['name'], maximumRetryCount };
}

/* ------------------------------------------------------------------ signals */

/** Linux signal numbers (x86, arm, arm64 and the other "generic" architectures agree). */
const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10,
  SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CLD: 17, CONT: 18, STOP: 19,
  TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29,
  POLL: 29, PWR: 30, SYS: 31,
};
/** As glibc sees them: the kernel's 32 and 33 are reserved by the C library. */
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** A signal by number ('15'), name ('TERM', 'SIGTERM', any case) or 'RTMIN+n' / 'RTMAX-n'. */
export function parseSignal(s: string): number {
  const bad = () => new TspodError(`invalid signal "${s}"`, 'use a name such as SIGTERM or a number from 1 to 64');
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > SIGRTMAX) throw bad();
    return n;
  }
  const name = s.toUpperCase().replace(/^SIG/, '');
  if (Object.hasOwn(SIGNALS, name)) return SIGNALS[name];
  const rt = /^RT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (rt) {
    const [, base, sign, digits] = rt;
    const offset = Number(digits ?? 0);
    // Docker's names count up from RTMIN and down from RTMAX: RTMIN+3, RTMAX-2.
    const n = base === 'MIN' && sign !== '-' ? SIGRTMIN + offset : base === 'MAX' && sign !== '+' ? SIGRTMAX - offset : 0;
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
  }
  throw bad();
}

/* ------------------------------------------------------------------ security options */

export interface SecurityOptions {
  noNewPrivileges?: boolean;
  /** seccomp=unconfined: accepted, and what tspod does anyway (it ships no seccomp profile) */
  seccompUnconfined?: boolean;
  /** apparmor=unconfined: accepted, and what tspod does anyway (it loads no AppArmor profile) */
  apparmorUnconfined?: boolean;
  /** label=disable: accepted, and what tspod does anyway (no SELinux labels) */
  labelDisabled?: boolean;
}

/**
 * One --security-opt value: no-new-privileges[:true|false] (also with '='), and the "unconfined"
 * forms of the confinements tspod does not apply. Profiles and labels are refused: tspod cannot
 * apply them, and silently running unconfined would mislead.
 */
export function parseSecurityOpt(s: string): SecurityOptions {
  const nnp = /^no-new-privileges(?:[:=](.*))?$/.exec(s);
  if (nnp) {
    const value = nnp[1];
    if (value === undefined || value === 'true') return { noNewPrivileges: true };
    if (value === 'false') return { noNewPrivileges: false };
    throw new TspodError(`invalid --security-opt value "${s}"`, 'no-new-privileges takes true or false');
  }
  const [key, value] = splitOption(s.replace(':', '='));
  if (key === 'seccomp' && value === 'unconfined') return { seccompUnconfined: true };
  if (key === 'apparmor' && value === 'unconfined') return { apparmorUnconfined: true };
  if (key === 'label' && value === 'disable') return { labelDisabled: true };
  if (['seccomp', 'apparmor', 'label'].includes(key)) {
    throw new TspodError(
      `unsupported --security-opt value "${s}"`,
      `tspod applies no ${key === 'label' ? 'SELinux labels' : `${key} profile`}; only ${key}=${key === 'label' ? 'disable' : 'unconfined'} is accepted`,
    );
  }
  throw new TspodError(
    `unsupported --security-opt value "${s}"`,
    'supported: no-new-privileges[:true|false], seccomp=unconfined, apparmor=unconfined, label=disable',
  );
}

/* ------------------------------------------------------------------ capabilities */

/** Every Linux capability, by number. */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** containers-common's default_capabilities (containers.conf), which Podman and tspod start from. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT',
];

/** 'net_admin', 'NET_ADMIN', 'CAP_NET_ADMIN' -> 'CAP_NET_ADMIN'; 'all' -> 'ALL'. */
export function normalizeCapability(flag: string, name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const cap = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!ALL_CAPABILITIES.includes(cap)) throw new TspodError(`invalid ${flag} value "${name}"`, 'unknown capability');
  return cap;
}

/**
 * base with --cap-add and --cap-drop applied, sorted (Podman's MergeCapabilities): dropping ALL
 * leaves only the added ones; adding ALL starts from every capability; a capability both added
 * and dropped is an error.
 */
export function parseCapabilities(add: string[], drop: string[], base: string[]): string[] {
  const adds = add.map((c) => normalizeCapability('--cap-add', c));
  const drops = drop.map((c) => normalizeCapability('--cap-drop', c));
  let caps = base.map((c) => normalizeCapability('capability', c));
  if (drops.includes('ALL')) {
    if (adds.includes('ALL')) throw new TspodError('--cap-add ALL and --cap-drop ALL together are not allowed');
    return [...new Set(adds)].sort();
  }
  if (adds.includes('ALL')) caps = [...ALL_CAPABILITIES];
  else {
    const both = adds.find((c) => drops.includes(c));
    if (both) throw new TspodError(`capability ${both} is both added (--cap-add) and dropped (--cap-drop)`);
  }
  const kept = caps.filter((c) => !drops.includes(c));
  return [...new Set([...kept, ...adds.filter((c) => c !== 'ALL')])].sort();
}
