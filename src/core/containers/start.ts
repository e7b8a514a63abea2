/**
 * Starting a container: mount its rootfs, write its /etc files and config.json, launch conmon
 * (which has the runtime create it), connect its network, attach if asked, then let the runtime
 * start it. A failure on the way undoes what was done, leaving the container "created".
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine.js';
import { TspodError } from '../errors.js';
import { resolveUser } from '../container-user.js';
import { hostnameFile, hostsFile, resolvConf } from '../etc-files.js';
import { buildSpec, serializeSpec } from '../oci-spec.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, parseCapabilities, parseSecurityOpt, parseTmpfs, parseUlimit } from '../run-options.js';
import { readRootfsFile } from '../rootfs-files.js';
import { writeFileAtomic } from '../../store/atomic.js';
import type { ContainerRecord } from '../../store/container-store.js';
import { launchConmon } from '../../namespaces/conmon.js';
import { findExecutable } from '../../namespaces/helpers.js';
import { mountOverlay, unmount } from '../../namespaces/mounts.js';
import { attachNetwork, detachNetwork, PRIVATE_NETWORK } from '../../namespaces/network.js';
import { runtimeDelete, runtimeStart } from '../../namespaces/oci-runtime.js';
import type { NamespaceContext } from '../../namespaces/userns.js';
import { isActive, requireContainer } from './lookup.js';
import { runtimeContext } from './runtime-context.js';
import { containerEvent, recordEvent } from '../events.js';

/** The tspod command conmon runs when the container exits (inside the namespace). */
export function exitCommand(engine: Engine, id: string): string[] {
  const bin = process.env.TSPOD_BIN ?? process.argv[1];
  return [process.execPath, '--', bin, '--root', engine.paths.root, '--runroot', engine.paths.runroot, 'container', 'cleanup', id];
}

export function lowerDirs(engine: Engine, record: ContainerRecord): string[] {
  const image = engine.store.read().images.find((i) => i.id === record.imageId);
  if (!image) throw new TspodError(`the image of container ${record.name} (${record.imageId.slice(7, 19)}) is gone`, 'remove the container');
  return [...image.layers].reverse().map((d) => engine.store.layerDir(d));
}

function writeEtcFiles(record: ContainerRecord, userdata: string): void {
  const { config } = record;
  const ip = config.network === 'private' ? PRIVATE_NETWORK.ip : undefined;
  writeFileAtomic(path.join(userdata, 'hostname'), hostnameFile(config.hostname));
  writeFileAtomic(path.join(userdata, 'hosts'), hostsFile({ hostname: config.hostname, ip }));
  let hostResolv = '';
  try {
    hostResolv = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    // a host without resolv.conf: the container gets only the network's own resolver
  }
  writeFileAtomic(path.join(userdata, 'resolv.conf'), resolvConf({ mode: config.network, hostResolvConf: hostResolv }));
}

/** HOME comes from the user's passwd entry, known only now. */
function withHome(env: string[], home: string): string[] {
  return env.some((e) => e.startsWith('HOME=')) ? env : [...env, `HOME=${home}`];
}

function writeSpec(engine: Engine, record: ContainerRecord, ns: NamespaceContext, lowers: string[]): void {
  const { rootless } = ns;
  const paths = engine.containers.containerPaths(record.id);
  const { config } = record;
  const layers = [paths.upper, ...lowers];
  const user = resolveUser(config.user, readRootfsFile(layers, 'etc/passwd') ?? '', readRootfsFile(layers, 'etc/group') ?? '');
  const security = config.securityOpt.map(parseSecurityOpt);
  let init: { path: string } | undefined;
  if (config.init) {
    const catatonit = findExecutable('catatonit');
    if (!catatonit) throw new TspodError('--init needs catatonit, which is not installed', 'apt-get install catatonit');
    init = { path: catatonit };
  }
  const spec = buildSpec({
    rootfs: paths.merged,
    readOnly: config.readOnly,
    args: config.args,
    env: withHome(config.env, user.home),
    cwd: config.workingDir,
    user,
    terminal: config.tty,
    hostname: config.hostname,
    capabilities: config.privileged ? ALL_CAPABILITIES : parseCapabilities(config.capAdd, config.capDrop, DEFAULT_CAPABILITIES),
    capAdd: config.capAdd,
    privileged: config.privileged,
    noNewPrivileges: security.some((s) => s.noNewPrivileges === true),
    ulimits: config.ulimits.map(parseUlimit),
    tmpfs: config.tmpfs.map(parseTmpfs),
    network: config.network,
    etcFiles: { hosts: path.join(paths.userdata, 'hosts'), hostname: path.join(paths.userdata, 'hostname'), resolvConf: path.join(paths.userdata, 'resolv.conf') },
    init,
    rootless,
    uidMappings: ns.uidMappings,
    gidMappings: ns.gidMappings,
  });
  writeFileAtomic(path.join(paths.userdata, 'config.json'), serializeSpec(spec));
}

export interface StartHooks {
  /** Called once the container exists but before its process runs: attach here so no output is lost. */
  beforeStart?: (record: ContainerRecord) => Promise<void>;
  /**
   * The caller waits for the exit and cleans up itself (a foreground run): conmon then runs no
   * exit command, which would cost a second Node process per container. Should the caller die,
   * the next command that looks (ps, inspect, rm) finalizes the container.
   */
  callerCleansUp?: boolean;
  /**
   * A restart policy at work: counted in RestartCount, and nothing is started when the user
   * stopped, killed or started the container since it exited (checked under the lock).
   */
  byRestartPolicy?: boolean;
}

/**
 * Starts a created or exited container. Holds the store lock throughout, so two starts of one
 * container cannot interleave; returns the updated record.
 */
export async function startContainer(engine: Engine, input: string, hooks: StartHooks = {}): Promise<ContainerRecord> {
  return engine.containers.update(async (state) => {
    const record = requireContainer(state, input);
    if (isActive(record)) {
      if (record.state.status === 'paused') throw new TspodError(`container ${record.name} is paused`, 'unpause it instead');
      return record;
    }
    if (hooks.byRestartPolicy) {
      if (record.state.stoppedByUser) return record;
      record.state.restartCount++;
    }
    const rc = await runtimeContext(engine, record);
    const paths = engine.containers.containerPaths(record.id);
    const lowers = lowerDirs(engine, record);
    mkdirSync(paths.runDir, { recursive: true, mode: 0o700 });
    // A previous run's exit file would make this run look finished.
    rmSync(path.join(paths.runDir, 'exits'), { recursive: true, force: true });
    writeEtcFiles(record, paths.userdata);
    writeSpec(engine, record, rc.ns, lowers);
    await mountOverlay(rc.ns, { lowers, upper: paths.upper, work: paths.work, merged: paths.merged });
    let created = false;
    let network: Awaited<ReturnType<typeof attachNetwork>> | undefined;
    try {
      const { pid, conmonPid } = await launchConmon({
        rc,
        id: record.id,
        name: record.name,
        bundle: paths.userdata,
        runDir: paths.runDir,
        logPath: paths.logPath,
        terminal: record.config.tty,
        stdin: record.config.openStdin,
        exitCommand: hooks.callerCleansUp && record.config.restartPolicy.name === 'no' ? undefined : exitCommand(engine, record.id),
      });
      created = true;
      network = await attachNetwork(rc.ns, pid, { mode: record.config.network, runDir: paths.runDir });
      await hooks.beforeStart?.(record);
      await runtimeStart(rc, record.id);
      Object.assign(record.state, {
        status: 'running',
        pid,
        conmonPid,
        networkPid: network.helperPid ?? 0,
        startedAt: new Date().toISOString(),
        finishedAt: '',
        exitCode: 0,
        error: '',
        stoppedByUser: false,
        restarting: false,
        mounted: true,
      } satisfies Partial<ContainerRecord['state']>);
      await recordEvent(engine, containerEvent(record, 'start'));
      return record;
    } catch (e) {
      if (network) await detachNetwork(network).catch(() => undefined);
      if (created) await runtimeDelete(rc, record.id, { force: true }).catch(() => undefined);
      await unmount(rc.ns, paths.merged);
      record.state.error = e instanceof Error ? e.message : String(e);
      throw e;
    }
  });
}
