/**
 * The OCI runtime spec (config.json) of a container, shaped like the one Podman generates
 * (pkg/specgen/generate, containers.conf defaults), adapted to how tspod runs the runtime: inside
 * the user namespace of its pause process when rootless, so the spec itself never asks for a user
 * namespace.
 *
 * Left out on purpose: seccomp and AppArmor. tspod ships no seccomp profile file (Podman's comes
 * from containers-common) and loads no AppArmor profile; a container is confined by its
 * namespaces, capabilities, masked and read-only paths, and rootless by the user namespace.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { IdMapping } from '../namespaces/userns.js';
import type { ResolvedUser } from './container-user.js';
import { ALL_CAPABILITIES, normalizeCapability, type TmpfsMount, type Ulimit } from './run-options.js';

export interface SpecInput {
  /** absolute path of the mounted rootfs */
  rootfs: string;
  readOnly: boolean;
  /** with readOnly: tmpfs on /tmp, /var/tmp and /run (Podman's read-only-tmpfs, on by default) */
  readOnlyTmpfs?: boolean;
  /** from resolveCommand; with init, buildSpec puts the init program in front */
  args: string[];
  env: string[];
  cwd: string;
  user: ResolvedUser;
  terminal: boolean;
  hostname: string;
  /** the container's capability set (parseCapabilities, or every one with privileged) */
  capabilities: string[];
  /** the --cap-add values: a non-root user gets these as ambient capabilities (Podman) */
  capAdd?: string[];
  privileged: boolean;
  noNewPrivileges: boolean;
  ulimits: Ulimit[];
  tmpfs: TmpfsMount[];
  /** private and none: a new network namespace; host: the host's */
  network: 'private' | 'none' | 'host';
  /** host paths bind-mounted over /etc/hosts, /etc/hostname, /etc/resolv.conf */
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  /** --init: this program (catatonit) is bind-mounted at INIT_PATH and runs as process 1 */
  init?: { path: string };
  rootless: boolean;
  /** the user namespace's maps: not part of the spec (tspod already runs in that namespace) but they decide whether gid 5 (tty) exists */
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  /** bytes; default 64 MiB */
  shmSize?: number;
  annotations?: Record<string, string>;
  /** what this host allows; read from /proc/self when absent */
  host?: HostFacts;
}

/** Where --init's program appears in the container (Podman's path). */
export const INIT_PATH = '/run/podman-init';

const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
/** Podman's RLIMIT_NOFILE (and Docker's usual daemon limit) when the user sets none. */
const DEFAULT_NOFILE = 1048576n;
/** RLIM_INFINITY: an unsigned 64-bit all-ones, more than a JS number holds exactly. */
const RLIM_INFINITY = 2n ** 64n - 1n;

/** containers-common's defaults (pkg/config): what an unprivileged container cannot see or change. */
const MASKED_PATHS = [
  '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/fs/selinux', '/sys/dev/block',
];
const READONLY_PATHS = ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The nodes every container gets (the OCI spec's default devices, bar the console and ptmx). */
const DEFAULT_DEVICES: { path: string; major: number; minor: number }[] = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
];

export interface Mount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface LinuxDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

interface DeviceRule {
  allow: boolean;
  type?: 'c' | 'b';
  major?: number;
  minor?: number;
  access: string;
}

/** An rlimit value: a bigint only where a number cannot hold it (RLIM_INFINITY). */
type RlimitValue = number | bigint;

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal?: boolean;
    user: { uid: number; gid: number; umask: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable?: string[]; ambient?: string[] };
    rlimits: { type: string; hard: RlimitValue; soft: RlimitValue }[];
    noNewPrivileges?: boolean;
  };
  root: { path: string; readonly?: boolean };
  hostname: string;
  mounts: Mount[];
  annotations: Record<string, string>;
  linux: {
    sysctl?: Record<string, string>;
    resources?: { devices: DeviceRule[] };
    namespaces: { type: string }[];
    devices?: LinuxDevice[];
    maskedPaths?: string[];
    readonlyPaths?: string[];
  };
}

export function buildSpec(input: SpecInput): OciSpec {
  const host = input.host ?? readHostFacts();
  const ownNetwork = input.network !== 'host';
  // sysfs can only be mounted by a namespace that owns the network namespace (Podman's canMountSys).
  const canMountSys = !(input.rootless && input.network === 'host');
  const hostDevices = input.privileged ? listHostDevices() : DEFAULT_DEVICES.map((d) => deviceNode(d.path, 'c', d.major, d.minor));

  const linux: OciSpec['linux'] = {
    ...(ownNetwork ? { sysctl: { 'net.ipv4.ping_group_range': '0 0' } } : {}),
    namespaces: [{ type: 'pid' }, ...(ownNetwork ? [{ type: 'network' }] : []), { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
  };
  // The runtime makes these nodes with mknod as root and, where mknod is not allowed (in a user
  // namespace), bind-mounts the host's nodes itself; runc and crun both do. Binding them here as
  // well would collide with that (runc opens the node it is about to cover: ENXIO on /dev/tty).
  // The devices cgroup is the runtime's only as root.
  linux.devices = hostDevices;
  if (!input.rootless) {
    linux.resources = {
      devices: input.privileged
        ? [{ allow: true, access: 'rwm' }]
        : [{ allow: false, access: 'rwm' }, ...hostDevices.map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: 'rwm' }))],
    };
  }
  if (!input.privileged) {
    linux.maskedPaths = [...MASKED_PATHS, ...(canMountSys ? [] : ['/sys/kernel'])];
    linux.readonlyPaths = [...READONLY_PATHS];
  }

  return {
    ociVersion: '1.0.2-dev',
    process: {
      ...(input.terminal ? { terminal: true } : {}),
      user: {
        uid: input.user.uid,
        gid: input.user.gid,
        umask: 0o022,
        ...(input.user.additionalGids.length > 0 ? { additionalGids: input.user.additionalGids } : {}),
      },
      args: input.init ? [INIT_PATH, '--', ...input.args] : input.args,
      env: input.env,
      cwd: input.cwd,
      capabilities: capabilities(input, host),
      rlimits: rlimits(input.ulimits, host),
      ...(input.noNewPrivileges ? { noNewPrivileges: true } : {}),
    },
    root: { path: input.rootfs, ...(input.readOnly ? { readonly: true } : {}) },
    hostname: input.hostname,
    mounts: mounts(input, canMountSys),
    annotations: { ...input.annotations },
    linux,
  };
}

function mounts(input: SpecInput, canMountSys: boolean): Mount[] {
  const rw = input.privileged ? 'rw' : 'ro';
  const gid5Mapped = !input.gidMappings || input.gidMappings.some((m) => m.containerID <= 5 && 5 < m.containerID + m.size);
  const list: Mount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'noexec', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      // gid=5 (tty) is refused when the namespace has no gid 5.
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', ...(gid5Mapped ? ['gid=5'] : [])],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${input.shmSize ?? DEFAULT_SHM_SIZE}`],
    },
  ];
  if (canMountSys) {
    list.push(
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', rw] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['rprivate', 'nosuid', 'noexec', 'nodev', 'relatime', rw] },
    );
  } else {
    for (const dir of ['/sys', '/sys/fs/cgroup']) {
      list.push({ destination: dir, type: 'bind', source: dir, options: ['rprivate', 'nosuid', 'noexec', 'nodev', rw, 'rbind'] });
    }
  }
  const etcOptions = input.readOnly ? ['bind', 'rprivate', 'ro', 'nosuid', 'noexec', 'nodev'] : ['bind', 'rprivate'];
  for (const [destination, source] of [
    ['/etc/resolv.conf', input.etcFiles.resolvConf],
    ['/etc/hosts', input.etcFiles.hosts],
    ['/etc/hostname', input.etcFiles.hostname],
  ]) {
    list.push({ destination, type: 'bind', source, options: [...etcOptions] });
  }
  if (input.readOnly && input.readOnlyTmpfs !== false) {
    for (const destination of ['/tmp', '/var/tmp', '/run']) {
      list.push({ destination, type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'] });
    }
  }
  for (const t of input.tmpfs) list.push({ destination: t.destination, type: 'tmpfs', source: 'tmpfs', options: [...t.options] });
  if (input.init) list.push({ destination: INIT_PATH, type: 'bind', source: input.init.path, options: ['bind', 'ro', 'rprivate'] });

  // A later mount at the same place replaces an earlier one (a --tmpfs /dev/shm or /run wins);
  // parents are mounted before what lies under them.
  const byDestination = new Map<string, Mount>();
  for (const m of list) {
    byDestination.delete(m.destination);
    byDestination.set(m.destination, m);
  }
  const depth = (p: string) => p.split('/').filter((s) => s !== '').length;
  return [...byDestination.values()].sort((a, b) => depth(a.destination) - depth(b.destination));
}

/**
 * Root keeps its capabilities; another user starts with none but those it was given by
 * --cap-add, which become ambient so they survive exec (Podman). No set can exceed this host's
 * bounding set: the runtime could not grant it.
 */
function capabilities(input: SpecInput, host: HostFacts): OciSpec['process']['capabilities'] {
  const allowed = new Set(host.boundingCapabilities);
  const bounding = [...new Set(input.capabilities)].filter((c) => allowed.has(c)).sort();
  return processCapabilities(bounding, input.user.uid, input.capAdd ?? []);
}

/** A process's sets within `bounding`, for user `uid` (also what exec gives its process). */
export function processCapabilities(bounding: string[], uid: number, capAdd: string[]): OciSpec['process']['capabilities'] {
  if (uid === 0) return { bounding, effective: bounding, permitted: bounding };
  const added = capAdd.map((c) => normalizeCapability('--cap-add', c));
  const wanted = new Set(added.includes('ALL') ? ALL_CAPABILITIES : added);
  const userCaps = bounding.filter((c) => wanted.has(c));
  return { bounding, effective: userCaps, permitted: userCaps, inheritable: userCaps, ambient: userCaps };
}

/**
 * The user's ulimits plus RLIMIT_NOFILE's default. Without CAP_SYS_RESOURCE (rootless always) no
 * limit can be raised above this process's hard limit, so such limits are lowered to it rather
 * than failing the start; RLIMIT_NOFILE never exceeds fs.nr_open.
 */
function rlimits(ulimits: Ulimit[], host: HostFacts): OciSpec['process']['rlimits'] {
  const toBig = (n: number) => (n < 0 ? RLIM_INFINITY : BigInt(n));
  const min = (a: bigint, b: bigint) => (a < b ? a : b);
  const wanted = new Map<string, { hard: bigint; soft: bigint }>();
  wanted.set('RLIMIT_NOFILE', { hard: DEFAULT_NOFILE, soft: DEFAULT_NOFILE });
  for (const u of ulimits) wanted.set(u.type, { hard: toBig(u.hard), soft: toBig(u.soft) });
  return [...wanted].map(([type, limit]) => {
    let hard = limit.hard;
    const current = host.limits[type];
    if (!host.canRaiseLimits && current) hard = min(hard, current.hard);
    if (type === 'RLIMIT_NOFILE') hard = min(hard, BigInt(host.nrOpen));
    const soft = min(limit.soft, hard);
    const value = (v: bigint): RlimitValue => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
    return { type, hard: value(hard), soft: value(soft) };
  });
}

/**
 * config.json text for a spec. JSON.stringify cannot write RLIM_INFINITY (2^64-1) exactly as a
 * number, so bigints go through a unique placeholder and are spliced back as plain digits.
 */
export function serializeSpec(spec: OciSpec): string {
  const mark = `bigint-${randomUUID()}`;
  const text = JSON.stringify(spec, (_key, value: unknown) => (typeof value === 'bigint' ? `${mark}${value}` : value), 2);
  return text.replace(new RegExp(`"${mark}(\\d+)"`, 'g'), '$1');
}

/* ------------------------------------------------------------------ the host */

/** What the host lets this process hand on to a container. */
export interface HostFacts {
  /** this process's bounding set: no container process can hold a capability outside it */
  boundingCapabilities: string[];
  /** CAP_SYS_RESOURCE in the initial user namespace: limits may go above the current hard ones */
  canRaiseLimits: boolean;
  /** this process's limits by OCI name, RLIM_INFINITY as 2^64-1 */
  limits: Record<string, { soft: bigint; hard: bigint }>;
  /** fs.nr_open, the ceiling of RLIMIT_NOFILE */
  nrOpen: number;
}

/** /proc/self/limits row names and their OCI rlimit names. */
const LIMIT_ROWS: Record<string, string> = {
  'cpu time': 'RLIMIT_CPU',
  'file size': 'RLIMIT_FSIZE',
  'data size': 'RLIMIT_DATA',
  'stack size': 'RLIMIT_STACK',
  'core file size': 'RLIMIT_CORE',
  'resident set': 'RLIMIT_RSS',
  processes: 'RLIMIT_NPROC',
  'open files': 'RLIMIT_NOFILE',
  'locked memory': 'RLIMIT_MEMLOCK',
  'address space': 'RLIMIT_AS',
  'file locks': 'RLIMIT_LOCKS',
  'pending signals': 'RLIMIT_SIGPENDING',
  'msgqueue size': 'RLIMIT_MSGQUEUE',
  'nice priority': 'RLIMIT_NICE',
  'realtime priority': 'RLIMIT_RTPRIO',
  'realtime timeout': 'RLIMIT_RTTIME',
};

const CAP_SYS_RESOURCE = ALL_CAPABILITIES.indexOf('CAP_SYS_RESOURCE');

export function readHostFacts(): HostFacts {
  const status = readFileSync('/proc/self/status', 'utf8');
  const capMask = (field: string) => BigInt(`0x${new RegExp(`^${field}:\\s*([0-9a-f]+)`, 'm').exec(status)?.[1] ?? '0'}`);
  const bounding = capMask('CapBnd');
  const initialUserNamespace = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') === '0 0 4294967295';

  const limits: HostFacts['limits'] = {};
  for (const line of readFileSync('/proc/self/limits', 'utf8').split('\n')) {
    const row = /^Max (.+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    const type = row && LIMIT_ROWS[row[1]];
    if (!type) continue;
    const value = (v: string) => (v === 'unlimited' ? RLIM_INFINITY : BigInt(v));
    limits[type] = { soft: value(row[2]), hard: value(row[3]) };
  }
  return {
    boundingCapabilities: ALL_CAPABILITIES.filter((_, bit) => (bounding >> BigInt(bit)) & 1n),
    canRaiseLimits: initialUserNamespace && ((capMask('CapEff') >> BigInt(CAP_SYS_RESOURCE)) & 1n) === 1n,
    limits,
    nrOpen: Number(readFileSync('/proc/sys/fs/nr_open', 'utf8').trim()),
  };
}

function deviceNode(nodePath: string, type: 'c' | 'b', major: number, minor: number, fileMode = 0o666): LinuxDevice {
  return { path: nodePath, type, major, minor, fileMode, uid: 0, gid: 0 };
}

/** Directories of /dev that hold no devices to copy (runc's HostDevices skips the same). */
const SKIPPED_DEV_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** --privileged: every character and block device of the host, as runc and Podman list them. */
function listHostDevices(dir = '/dev'): LinuxDevice[] {
  const found: LinuxDevice[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DEV_DIRS.has(entry.name)) found.push(...listHostDevices(full));
    } else if ((entry.isCharacterDevice() || entry.isBlockDevice()) && full !== '/dev/console') {
      const st = statSync(full);
      // glibc's major()/minor() of a Linux dev_t.
      const dev = BigInt(st.rdev);
      const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
      const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
      found.push(deviceNode(full, entry.isBlockDevice() ? 'b' : 'c', major, minor, st.mode & 0o777));
    }
  }
  return found;
}
