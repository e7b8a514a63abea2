/**
 * `attach`: connects the terminal to a running container's main process through conmon's attach
 * socket, as run and start -a do, until the container exits or the user detaches.
 */
import type { Engine } from '../engine.js';
import { TspodError } from '../errors.js';
import { attachSocketPath } from '../../namespaces/conmon.js';
import { openAttach, type AttachStreams } from '../../namespaces/attach.js';
import { cleanupContainer, hasExited } from './exit.js';
import { findContainer, isActive } from './lookup.js';
import { proxySignals, untilExitOrDetach, type ForegroundResult } from './run.js';

export interface AttachOptions {
  /** stdin is attached only when the container was created with -i (Docker) */
  streams: AttachStreams;
  sigProxy: boolean;
  detachKeys?: string;
}

export async function attachToContainer(engine: Engine, input: string, opts: AttachOptions): Promise<ForegroundResult> {
  const record = findContainer(engine.containers.read(), input);
  if (!record) throw new TspodError(`no such container: ${input}`);
  if (record.state.status === 'paused') throw new TspodError(`you cannot attach to a paused container`, `unpause ${input} first`);
  if (!isActive(record) || (await hasExited(engine, record))) {
    await cleanupContainer(engine, record.id);
    throw new TspodError(`you cannot attach to a stopped container`, `start ${input} first`);
  }
  const { runDir, userdata } = engine.containers.containerPaths(record.id);
  const streams = record.config.openStdin ? opts.streams : { ...opts.streams, stdin: undefined };
  const session = await openAttach(attachSocketPath(runDir, record.id), streams, {
    tty: record.config.tty,
    detachKeys: opts.detachKeys,
    bundle: userdata,
  });
  // With a terminal, Ctrl-C is a byte for the container's terminal; without, a signal to relay.
  const proxy = opts.sigProxy && !record.config.tty ? proxySignals(engine, record) : undefined;
  proxy?.started();
  try {
    return await untilExitOrDetach(engine, record, session);
  } finally {
    proxy?.stop();
  }
}
