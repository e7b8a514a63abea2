/**
 * The user's terminal while attached to a container's: raw mode (every key goes to the container,
 * ctrl-c included) that is always undone, and the window size the container's terminal follows.
 */

export interface RawModeInput {
  isTTY?: boolean;
  setRawMode?(raw: boolean): void;
}

/** Signals that end tspod while a terminal may be raw; with no other listener they still kill it. */
const FATAL_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

/**
 * Puts `input` in raw mode (when it is a terminal) and returns the function that restores it. The
 * restore also runs when the process exits or is ended by a signal nobody else handles (the signal
 * then takes its default effect); calling it more than once is harmless.
 */
export function enterRawMode(input: RawModeInput): () => void {
  if (!input.isTTY || !input.setRawMode) return () => undefined;
  input.setRawMode(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('exit', restore);
    for (const signal of FATAL_SIGNALS) process.off(signal, onSignal);
    try {
      input.setRawMode!(false);
    } catch {
      // the terminal is gone (hangup): nothing left to restore
    }
  };
  function onSignal(signal: NodeJS.Signals) {
    // Someone else (e.g. signal proxying to the container) handles it: the attach goes on.
    if (process.listenerCount(signal) > 1) return;
    restore();
    process.kill(process.pid, signal);
  }
  process.on('exit', restore);
  for (const signal of FATAL_SIGNALS) process.on(signal, onSignal);
  return restore;
}

export interface TerminalSize {
  rows: number;
  cols: number;
}

interface SizedStream {
  isTTY?: boolean;
  rows?: number;
  columns?: number;
  getWindowSize?(): [number, number];
}

/** The window size of `stream` when it is a terminal. */
export function terminalSize(stream: unknown): TerminalSize | undefined {
  const tty = stream as SizedStream;
  if (!tty?.isTTY) return undefined;
  const [cols, rows] = tty.getWindowSize?.() ?? [tty.columns ?? 0, tty.rows ?? 0];
  return rows > 0 && cols > 0 ? { rows, cols } : undefined;
}

/** Calls `onResize` with the new size whenever the window of `stream` changes (SIGWINCH). */
export function watchTerminalSize(stream: unknown, onResize: (size: TerminalSize) => void): () => void {
  const handler = () => {
    const size = terminalSize(stream);
    if (size) onResize(size);
  };
  process.on('SIGWINCH', handler);
  return () => process.off('SIGWINCH', handler);
}
