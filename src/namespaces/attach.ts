/**
 * Attaching to a container through conmon's attach socket. The socket is SOCK_SEQPACKET (Node's
 * net module cannot open one, hence node-unix-socket). Each packet conmon sends is one read of the
 * container's output, its first byte naming the stream (2 stdout, 3 stderr; with a terminal
 * everything is stdout); whatever the client sends is written to the container's stdin, and
 * half-closing the socket closes that stdin (conmon -i without --leave-stdin-open).
 */
import { closeSync, constants, openSync } from 'node:fs';
import path from 'node:path';
import { SeqpacketSocket } from 'node-unix-socket';
import { TspodError } from '../core/errors.js';
import { resizeTerminal } from './conmon.js';
import { enterRawMode, terminalSize, watchTerminalSize, type TerminalSize } from './terminal.js';

export interface AttachStreams {
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(b: boolean): void };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** conmon's stream numbers (stdpipe_t). */
const STDOUT_PIPE = 2;
const STDERR_PIPE = 3;

/** conmon reads at most 32767 bytes per packet; stdin is sent in smaller ones. */
const STDIN_PACKET_MAX = 8192;

/** Longest path connect() takes (sun_path holds 108 bytes with the terminating NUL). */
const SUN_PATH_MAX = 107;

/** ctrl-@ (0) … ctrl-_ (31), as Docker spells them. */
const CTRL_KEYS = ['@', ...'abcdefghijklmnopqrstuvwxyz', '[', '\\', ']', '^', '_'];

/**
 * Docker's detach key syntax: comma-separated keys, each a single ASCII character or
 * ctrl-@, ctrl-a … ctrl-z, ctrl-[, ctrl-\, ctrl-], ctrl-^, ctrl-_ (or DEL). "" means no detach keys.
 */
export function parseDetachKeys(spec: string): number[] {
  if (spec === '') return [];
  return spec.split(',').map((key) => {
    if (Buffer.byteLength(key) === 1) return key.charCodeAt(0);
    const ctrl = key.startsWith('ctrl-') ? CTRL_KEYS.indexOf(key.slice(5)) : -1;
    if (ctrl >= 0 && key.length === 6) return ctrl;
    if (key === 'DEL') return 127;
    throw new TspodError(
      `invalid detach keys "${spec}": unknown key "${key}"`,
      'use a comma-separated list of single characters and ctrl-@, ctrl-a … ctrl-z, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_, e.g. ctrl-p,ctrl-q',
    );
  });
}

/**
 * Finds the detach sequence in what the user types. Bytes that might begin the sequence are held
 * back until it is clear they do not; then they are passed on as typed.
 */
class DetachMatcher {
  private matched = 0;

  constructor(private readonly keys: number[]) {}

  /** What to send on to the container, and whether the sequence is complete (the rest is dropped). */
  feed(chunk: Buffer): { forward: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { forward: chunk, detach: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      if (this.matched > 0) {
        out.push(...this.keys.slice(0, this.matched));
        this.matched = 0;
        if (byte === this.keys[0]) {
          this.matched = 1;
          continue;
        }
      }
      out.push(byte);
    }
    return { forward: Buffer.from(out), detach: false };
  }

  /** The held-back bytes, when input ends in the middle of a possible sequence. */
  flush(): Buffer {
    const held = Buffer.from(this.keys.slice(0, this.matched));
    this.matched = 0;
    return held;
  }
}

/**
 * Connects to the attach socket at once (before the first await), so a caller that starts the
 * container right after calling this misses none of its output.
 */
function connect(socketPath: string): Promise<SeqpacketSocket> {
  const socket = new SeqpacketSocket();
  let dirFd: number | undefined;
  let target = socketPath;
  if (Buffer.byteLength(socketPath) > SUN_PATH_MAX) {
    // Too long for sun_path: reach the directory through this process's descriptor for it.
    dirFd = openSync(path.dirname(socketPath), constants.O_RDONLY | constants.O_DIRECTORY);
    target = `/proc/self/fd/${dirFd}/${path.basename(socketPath)}`;
  }
  const closeDir = () => {
    if (dirFd !== undefined) closeSync(dirFd);
    dirFd = undefined;
  };
  return new Promise((resolve, reject) => {
    const fail = (e: unknown) => {
      closeDir();
      socket.destroy();
      // node-unix-socket's errors carry the strerror text (and code "Unknown")
      reject(new TspodError(`cannot attach to the container: ${socketPath}: ${(e as Error).message}`, 'is the container running?'));
    };
    socket.once('error', fail);
    try {
      socket.connect(target, () => {
        closeDir();
        socket.off('error', fail);
        resolve(socket);
      });
    } catch (e) {
      fail(e);
    }
  });
}

export interface AttachSession {
  /** Settles when the container's output ends (it exited) or the user typed the detach keys. */
  done: Promise<{ detached: boolean }>;
  /** Ends the attach now (the container is not affected) and restores the terminal. */
  close(): void;
}

type AttachOptions = { tty: boolean; detachKeys?: string; bundle: string };

/**
 * Connects the streams to the container: resolves once the socket is connected, so the caller can
 * start the container next without missing any of its output. With a terminal, stdin is put in
 * raw mode (restored however the session ends) and the container's terminal follows the size of
 * ours.
 */
export async function openAttach(socketPath: string, streams: AttachStreams, opts: AttachOptions): Promise<AttachSession> {
  const keys = streams.stdin ? parseDetachKeys(opts.detachKeys ?? DEFAULT_DETACH_KEYS) : [];
  const socket = await connect(socketPath);
  const restoreTerminal = opts.tty && streams.stdin ? enterRawMode(streams.stdin) : () => undefined;
  // Listening first: output that arrives while the terminal is being sized is not lost.
  const relaying = relay(socket, streams, new DetachMatcher(keys));
  const resize = (size: TerminalSize) => resizeTerminal(opts.bundle, size.rows, size.cols).catch(() => undefined);
  const stopResizing = opts.tty ? watchTerminalSize(streams.stdout, (size) => void resize(size)) : () => undefined;
  const done = relaying.done.finally(() => {
    stopResizing();
    restoreTerminal();
    socket.destroy();
  });
  // The caller sees a failure through `done`; until it looks, it is no unhandled rejection.
  done.catch(() => undefined);
  const size = opts.tty ? terminalSize(streams.stdout) : undefined;
  // Awaited: the size is in conmon's fifo before the caller starts the container.
  if (size) await resize(size);
  return { done, close: () => relaying.finish({ detached: true }) };
}

/** openAttach and wait for the session to end. */
export async function attachContainer(socketPath: string, streams: AttachStreams, opts: AttachOptions): Promise<{ detached: boolean }> {
  return (await openAttach(socketPath, streams, opts)).done;
}

function relay(
  socket: SeqpacketSocket,
  streams: AttachStreams,
  matcher: DetachMatcher,
): { done: Promise<{ detached: boolean }>; finish(result: { detached: boolean } | Error): void } {
  const stdin = streams.stdin;
  let finished = false;
  let lastWrite: Promise<void> = Promise.resolve();
  let settle: (result: { detached: boolean } | Error) => void = () => undefined;
  const done = new Promise<{ detached: boolean }>((resolve, reject) => {
    settle = (result) => (result instanceof Error ? reject(result) : resolve(result));
  });
  const write = (stream: NodeJS.WritableStream, data: Buffer) => {
    lastWrite = new Promise((written) => stream.write(data, () => written()));
  };
  const finish = (result: { detached: boolean } | Error) => {
    if (finished) return;
    finished = true;
    if (stdin) {
      stdin.off('data', onInput);
      stdin.off('end', onInputEnd);
      stdin.off('error', onInputEnd);
      stdin.pause();
    }
    if (result instanceof Error) settle(result);
    else void lastWrite.then(() => settle(result));
  };

  socket.on('data', (packet: Buffer) => {
    if (packet.length < 2) return;
    const target = packet[0] === STDERR_PIPE ? streams.stderr : packet[0] === STDOUT_PIPE ? streams.stdout : undefined;
    if (target) write(target, packet.subarray(1));
  });
  socket.once('end', () => finish({ detached: false }));
  socket.once('error', (e: Error) => finish(new TspodError(`attach to the container failed: ${e.message}`)));

  const send = (data: Buffer) => {
    if (finished) return;
    for (let off = 0; off < data.length; off += STDIN_PACKET_MAX) {
      const piece = data.subarray(off, off + STDIN_PACKET_MAX);
      const last = off + STDIN_PACKET_MAX >= data.length;
      // Waiting for the last piece to reach the kernel before reading more is the backpressure.
      if (last) stdin!.pause();
      socket.write(piece, 0, piece.length, last ? () => !finished && stdin!.resume() : undefined);
    }
  };
  function onInput(chunk: Buffer | string) {
    const { forward, detach } = matcher.feed(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    if (forward.length > 0) send(forward);
    if (detach) finish({ detached: true });
  }
  function onInputEnd() {
    const held = matcher.flush();
    if (held.length > 0) send(held);
    // Half-close: the container's stdin sees EOF, its output keeps coming.
    if (!finished) socket.end();
  }
  if (stdin) {
    stdin.on('data', onInput);
    stdin.once('end', onInputEnd);
    stdin.once('error', onInputEnd);
    stdin.resume();
  }
  return { done, finish };
}
