/**
 * What `ps` and `inspect` show of containers: Docker's columns and status phrases, and the
 * Docker/Podman field names of `container inspect`.
 */
import { TspodError } from '../errors.js';
import { humanDuration, timeAgo } from '../humanize.js';
import { displayName } from '../images.js';
import { goQuote } from '../template/gofmt.js';
import type { ContainerRecord } from '../../store/container-store.js';
import type { ContainerPaths } from '../../store/container-store.js';

/** "Up 3 seconds", "Exited (0) 2 minutes ago", "Created" — Docker's phrases. */
export function statusPhrase(c: ContainerRecord, now = Date.now()): string {
  const { state } = c;
  switch (state.status) {
    case 'created':
      return 'Created';
    case 'running':
    case 'stopping':
      return `Up ${humanDuration(now - Date.parse(state.startedAt))}`;
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(state.startedAt))} (Paused)`;
    case 'exited':
      return `Exited (${state.exitCode}) ${timeAgo(state.finishedAt, now)}`;
  }
}

/** Docker's State.Status: created, running, paused, restarting, removing, exited, dead. */
export function dockerStatus(c: ContainerRecord): string {
  return c.state.status === 'stopping' ? 'running' : c.state.status;
}

/** Docker's COMMAND column: the command line, cut to 20 characters with "…", then strconv.Quote'd. */
function quoteCommand(args: string[], truncate: boolean): string {
  const chars = [...args.join(' ')];
  return goQuote(truncate && chars.length > 20 ? `${chars.slice(0, 19).join('')}…` : chars.join(''));
}

export interface ContainerRow {
  ID: string;
  Image: string;
  Command: string;
  CreatedAt: string;
  RunningFor: string;
  Status: string;
  State: string;
  Ports: string;
  Names: string;
  Labels: string;
  Size: string;
  Mounts: string;
  Networks: string;
}

export function containerRow(c: ContainerRecord, opts: { noTrunc: boolean; size?: string }): ContainerRow {
  return {
    ID: opts.noTrunc ? c.id : c.id.slice(0, 12),
    Image: c.imageName,
    Command: quoteCommand(c.config.args, !opts.noTrunc),
    CreatedAt: c.created,
    RunningFor: timeAgo(c.created),
    Status: statusPhrase(c),
    State: dockerStatus(c),
    Ports: '',
    Names: c.name,
    Labels: Object.entries(c.config.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    Size: opts.size ?? '',
    Mounts: '',
    Networks: c.config.network === 'private' ? 'slirp4netns' : c.config.network,
  };
}

export const PS_HEADERS = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  RunningFor: 'CREATED',
  Status: 'STATUS',
  Ports: 'PORTS',
  Names: 'NAMES',
  Size: 'SIZE',
};

export const PS_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** ps --filter: status=, name=, label=, ancestor=, exited=, id=, restart-policy= (same key twice = or, different keys = and). */
export function containerFilter(filters: string[], ancestorMatches: (c: ContainerRecord, value: string) => boolean): (c: ContainerRecord) => boolean {
  const byKey = new Map<string, string[]>();
  for (const f of filters) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new TspodError(`invalid filter "${f}"`, 'use KEY=VALUE, e.g. status=running');
    const key = f.slice(0, eq);
    if (!['status', 'name', 'label', 'ancestor', 'exited', 'id', 'restart-policy'].includes(key)) {
      throw new TspodError(`invalid filter "${f}"`, 'supported: status=, name=, label=, ancestor=, exited=, id=, restart-policy=');
    }
    byKey.set(key, [...(byKey.get(key) ?? []), f.slice(eq + 1)]);
  }
  const statuses = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
  for (const s of byKey.get('status') ?? []) {
    if (!statuses.includes(s)) throw new TspodError(`invalid filter "status=${s}"`, `status is one of ${statuses.join(', ')}`);
  }
  const policies = ['no', 'always', 'on-failure', 'unless-stopped'];
  for (const p of byKey.get('restart-policy') ?? []) {
    if (!policies.includes(p)) throw new TspodError(`invalid filter "restart-policy=${p}"`, `restart-policy is one of ${policies.join(', ')}`);
  }
  const tests: Record<string, (c: ContainerRecord, v: string) => boolean> = {
    status: (c, v) => dockerStatus(c) === v,
    name: (c, v) => new RegExp(v).test(c.name),
    id: (c, v) => c.id.startsWith(v),
    label: (c, v) => {
      const [k, val] = v.split(/=(.*)/s, 2);
      return k in c.config.labels && (val === undefined || c.config.labels[k] === val);
    },
    exited: (c, v) => c.state.status === 'exited' && c.state.exitCode === Number(v),
    ancestor: ancestorMatches,
    'restart-policy': (c, v) => c.config.restartPolicy.name === v,
  };
  return (c) => [...byKey].every(([key, values]) => values.some((v) => tests[key](c, v)));
}

/** `container inspect`, with Docker's field names (and Podman's where Docker has none). */
export function inspectContainer(c: ContainerRecord, paths: ContainerPaths, extra: { imageNames: string[]; rootfsLowers: string[] }) {
  const { state, config } = c;
  const running = state.status === 'running' || state.status === 'paused' || state.status === 'stopping';
  return {
    Id: c.id,
    Created: c.created,
    Path: config.args[0] ?? '',
    Args: config.args.slice(1),
    State: {
      Status: dockerStatus(c),
      Running: running,
      Paused: state.status === 'paused',
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: running ? state.pid : 0,
      ConmonPid: running ? state.conmonPid : 0,
      ExitCode: state.exitCode,
      Error: state.error,
      StartedAt: state.startedAt || '0001-01-01T00:00:00Z',
      FinishedAt: state.finishedAt || '0001-01-01T00:00:00Z',
    },
    Image: c.imageId,
    ImageName: extra.imageNames[0] ? displayName(extra.imageNames[0]) : c.imageName,
    ResolvConfPath: `${paths.userdata}/resolv.conf`,
    HostnamePath: `${paths.userdata}/hostname`,
    HostsPath: `${paths.userdata}/hosts`,
    LogPath: paths.logPath,
    Name: `/${c.name}`,
    RestartCount: state.restartCount,
    Driver: 'overlay',
    Mounts: [],
    Config: {
      Hostname: config.hostname,
      User: config.user,
      AttachStdin: config.openStdin,
      Tty: config.tty,
      OpenStdin: config.openStdin,
      Env: config.env,
      Cmd: config.cmd,
      Image: c.imageName,
      WorkingDir: config.workingDir,
      Entrypoint: config.entrypoint,
      Labels: config.labels,
      StopSignal: config.stopSignal,
      StopTimeout: config.stopTimeout,
      ExposedPorts: Object.fromEntries(config.exposedPorts.map((p) => [p, {}])),
    },
    HostConfig: {
      AutoRemove: config.autoRemove,
      RestartPolicy: { Name: config.restartPolicy.name, MaximumRetryCount: config.restartPolicy.maximumRetryCount },
      NetworkMode: config.network === 'private' ? 'slirp4netns' : config.network,
      Privileged: config.privileged,
      ReadonlyRootfs: config.readOnly,
      CapAdd: config.capAdd,
      CapDrop: config.capDrop,
      SecurityOpt: config.securityOpt,
      Tmpfs: Object.fromEntries(config.tmpfs.map((t) => [t.split(':')[0], t.split(':')[1] ?? ''])),
      Ulimits: config.ulimits,
      Init: config.init,
      Runtime: config.runtime ?? '',
    },
    GraphDriver: {
      Name: 'overlay',
      Data: { LowerDir: extra.rootfsLowers.join(':'), UpperDir: paths.upper, WorkDir: paths.work, MergedDir: paths.merged },
    },
    NetworkSettings: {
      Networks: {},
      IPAddress: '',
      Gateway: '',
      Ports: {},
      SandboxKey: running && config.network !== 'host' ? `/proc/${state.pid}/ns/net` : '',
    },
  };
}
