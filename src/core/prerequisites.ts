/**
 * What tspod needs from the host, said once: the cause of each missing prerequisite and the
 * command (run as root) that fixes it. `tspod system check` prints these texts and every other
 * command raises them through prerequisiteError, so both always say the same thing.
 */
import { TspodError } from './errors.js';

/** The Debian package that ships each helper tspod spawns. */
const HELPER_PACKAGES: Record<string, string> = {
  newuidmap: 'uidmap',
  newgidmap: 'uidmap',
  unshare: 'util-linux',
  nsenter: 'util-linux',
  mount: 'mount',
  runc: 'runc',
  crun: 'crun',
  conmon: 'conmon',
  slirp4netns: 'slirp4netns',
  pasta: 'passt',
  'fuse-overlayfs': 'fuse-overlayfs',
  catatonit: 'catatonit',
  getcap: 'libcap2-bin',
};

export interface Problem {
  cause: string;
  /** a command that fixes it, run as root; absent when no single command does */
  fix?: string;
}

const DEVICE_MODULES: Record<string, string> = { '/dev/net/tun': 'tun', '/dev/fuse': 'fuse' };

/** Size of the subordinate range suggested to users who have none: a full 16-bit id space. */
const SUBID_RANGE_SIZE = 65536;

const PROBLEMS = {
  'helper-missing': (helper: string): Problem => ({
    cause: `${helper} is not installed`,
    fix: `apt-get install -y ${HELPER_PACKAGES[helper] ?? helper}`,
  }),
  'idmap-helper-unprivileged': (file: string, capability: string): Problem => ({
    cause: `${file} is neither setuid root nor has the file capability ${capability}, so it cannot write id maps`,
    fix: `chown root:root ${file} && chmod 4755 ${file}`,
  }),
  'subid-missing': (kind: 'uid' | 'gid', user: string, file: string, start: number): Problem => ({
    cause: `no sub${kind} range for user "${user}" in ${file}`,
    fix: `usermod --add-sub${kind}s ${start}-${start + SUBID_RANGE_SIZE - 1} ${user}`,
  }),
  'idmap-failed': (helper: string, user: string, file: string, error: string): Problem => ({
    cause: `${helper} refused the ranges of user "${user}" from ${file} (${error}); they must be in /etc/sub${helper === 'newgidmap' ? 'gid' : 'uid'} and not overlap another user's`,
  }),
  'userns-disabled': (): Problem => ({
    cause: 'user namespaces are disabled (user.max_user_namespaces = 0)',
    fix: 'sysctl -w user.max_user_namespaces=15000',
  }),
  'userns-unprivileged-disabled': (): Problem => ({
    cause: 'unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)',
    fix: 'sysctl -w kernel.unprivileged_userns_clone=1',
  }),
  'userns-apparmor': (): Problem => ({
    cause: 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)',
    fix: 'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0',
  }),
  'userns-failed': (error: string): Problem => ({ cause: `cannot create a user namespace (${error})` }),
  'device-missing': (device: string): Problem => ({
    cause: `${device} does not exist`,
    fix: `modprobe ${DEVICE_MODULES[device] ?? device}`,
  }),
  'device-denied': (device: string, uid: number, mode?: number): Problem => ({
    cause: `${device} cannot be opened for reading and writing by uid ${uid}${mode === undefined ? '' : ` (mode ${mode.toString(8).padStart(4, '0')})`}`,
    fix: `chmod 0666 ${device}`,
  }),
  'runtime-missing': (tried: { requested: string; reason?: string }[]): Problem => ({
    cause: `no working OCI runtime (${tried.map((t) => `${t.requested}: ${t.reason}`).join('; ')})`,
    fix: 'apt-get install -y runc',
  }),
  'runtime-unusable': (requested: string, reason = 'not installed'): Problem => ({
    cause: `OCI runtime "${requested}" cannot be used (${reason})`,
    ...(reason === 'not installed' && HELPER_PACKAGES[requested] ? { fix: `apt-get install -y ${HELPER_PACKAGES[requested]}` } : {}),
  }),
  'network-helper-missing': (): Problem => ({
    cause: 'neither slirp4netns nor pasta is installed, so containers cannot have a network',
    fix: 'apt-get install -y slirp4netns',
  }),
  'overlay-unavailable': (error: string): Problem => ({
    cause: `the kernel cannot mount overlay here (${error}) and fuse-overlayfs is not installed`,
    fix: 'apt-get install -y fuse-overlayfs',
  }),
} satisfies Record<string, (...args: never[]) => Problem>;

export type ProblemName = keyof typeof PROBLEMS;

export function problem<N extends ProblemName>(name: N, ...args: Parameters<(typeof PROBLEMS)[N]>): Problem {
  return (PROBLEMS[name] as (...a: Parameters<(typeof PROBLEMS)[N]>) => Problem)(...args);
}

/** The hint line form of a fix, as every tspod error shows it. */
function fixHint(fix: string): string {
  return `as root: ${fix}`;
}

/** A missing prerequisite as the one-line error any command raises: `cause: as root: fix`. */
export function prerequisiteError<N extends ProblemName>(name: N, ...args: Parameters<(typeof PROBLEMS)[N]>): TspodError {
  const { cause, fix } = problem(name, ...args);
  return new TspodError(cause, fix && fixHint(fix));
}
