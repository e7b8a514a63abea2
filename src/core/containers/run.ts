/**
 * The foreground side of run/start -a: attach to the container through conmon before its
 * process starts (so no output is lost), relay signals, wait for its exit code, and clean up.
 */
import type { Engine } from '../engine.js';
import type { ContainerRecord } from '../../store/container-store.js';
import { attachSocketPath } from '../../namespaces/conmon.js';
import { openAttach, type AttachSession, type AttachStreams } from '../../namespaces/attach.js';
import { runtimeKill } from '../../namespaces/oci-runtime.js';
import { cleanupContainer, restartAfterExit, type AfterExit } from './exit.js';
import { findContainer } from './lookup.js';
import { runtimeContext } from './runtime-context.js';
import { startContainer } from './start.js';
import { waitForExit } from '../../namespaces/conmon.js';

export interface ForegroundOptions {
  streams: AttachStreams;
  /** forward SIGINT/SIGTERM/SIGHUP... to the container (--sig-proxy, default true) */
  sigProxy: boolean;
  detachKeys?: string;
}

export type ForegroundResult = { detached: true; id: string } | { detached: false; id: string; exitCode: number };

const PROXIED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export interface SignalProxy {
  /** The container's process runs: signals held back until now are delivered. */
  started(): void;
  stop(): void;
}

/**
 * Relays our signals to the container; a second Ctrl-C kills it (its PID 1 may ignore SIGINT).
 * Installed before the process starts, so that no signal kills tspod and leaves the container
 * behind; what arrives before the start is held back and delivered once it runs.
 */
export function proxySignals(engine: Engine, record: ContainerRecord): SignalProxy {
  let interrupts = 0;
  let held: string[] | undefined = [];
  const send = (signal: string) =>
    void runtimeContext(engine, record)
      .then((rc) => runtimeKill(rc, record.id, signal))
      .catch(() => undefined);
  const handlers = PROXIED_SIGNALS.map((sig) => {
    const handler = () => {
      const signal = sig === 'SIGINT' && ++interrupts > 1 ? 'KILL' : sig.slice(3);
      if (held) held.push(signal);
      else send(signal);
    };
    process.on(sig, handler);
    return () => process.off(sig, handler);
  });
  return {
    started() {
      const signals = held ?? [];
      held = undefined;
      signals.forEach(send);
    },
    stop: () => handlers.forEach((off) => off()),
  };
}

/** A stop or rm -f may have cleaned up first and, with --rm, removed the container: that is fine. */
async function cleanupUnlessRemoved(engine: Engine, id: string): Promise<AfterExit> {
  try {
    return await cleanupContainer(engine, id);
  } catch (e) {
    if (!findContainer(engine.containers.read(), id)) return 'removed';
    throw e;
  }
}

export async function startAttached(engine: Engine, input: string, opts: ForegroundOptions): Promise<ForegroundResult> {
  let session: AttachSession | undefined;
  const attach = async (c: ContainerRecord) => {
    const { runDir, userdata } = engine.containers.containerPaths(c.id);
    session = await openAttach(attachSocketPath(runDir, c.id), opts.streams, {
      tty: c.config.tty,
      detachKeys: opts.detachKeys,
      bundle: userdata,
    });
  };
  let proxy: SignalProxy | undefined;
  const proxyFor = (c: ContainerRecord) => {
    if (!proxy && opts.sigProxy && !c.config.tty) proxy = proxySignals(engine, c);
  };
  let record: ContainerRecord;
  try {
    record = await startContainer(engine, input, {
      callerCleansUp: true,
      beforeStart: async (c) => {
        await attach(c);
        proxyFor(c);
      },
    });
  } catch (e) {
    // Attached but not started: give the terminal back and let the process exit.
    proxy?.stop();
    session?.close();
    throw e;
  }
  // It was running already (start -a of a running container): Docker attaches to it as it is.
  if (!session) await attach(record);
  proxyFor(record);
  proxy?.started();
  try {
    return await untilExitOrDetach(engine, record, session!);
  } finally {
    proxy?.stop();
  }
}

/** Follows an attach session to its end: the user detached, or the container exited (then cleaned up). */
export async function untilExitOrDetach(engine: Engine, record: ContainerRecord, session: AttachSession): Promise<ForegroundResult> {
  const { detached } = await session.done;
  if (detached) return { detached: true, id: record.id };
  const { runDir } = engine.containers.containerPaths(record.id);
  const exitCode = await waitForExit(runDir, record.id, { conmonPid: record.state.conmonPid });
  if ((await cleanupUnlessRemoved(engine, record.id)) === 'restart') await restartAfterExit(engine, record.id);
  return { detached: false, id: record.id, exitCode };
}
