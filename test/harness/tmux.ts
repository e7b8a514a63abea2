/**
 * Drives a real terminal the way a person does: a tmux server of its own (private socket, no
 * config file) running a shell in one window, keys sent to it, the screen read back. Every wait
 * is bounded, and a timeout says what the screen showed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface TmuxOptions {
  cols?: number;
  rows?: number;
  /** environment of the shell (on top of the test's) */
  env?: Record<string, string>;
  cwd?: string;
}

export interface Tmux {
  /** tmux key names, e.g. 'Enter', 'C-c', 'C-p' */
  keys(...keys: string[]): Promise<void>;
  /** Types `text` literally, then Enter. */
  line(text: string): Promise<void>;
  /** The window's text: scrollback and screen, wrapped lines joined, trailing blanks removed. */
  screen(): Promise<string>;
  /** Waits until the screen matches; its text. Throws with the screen after `timeoutMs`. */
  waitFor(what: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Resizes the window (the terminal's SIGWINCH reaches whatever runs in it). */
  resize(cols: number, rows: number): Promise<void>;
  /** Ends the tmux server and everything running in it. */
  kill(): Promise<void>;
}

/** Starts `/bin/sh` (prompt "$ ") in a fresh tmux server of the given size. */
export async function startTmux(opts: TmuxOptions = {}): Promise<Tmux> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tspod-tmux-'));
  const socket = path.join(dir, 'socket');
  const tmux = async (...args: string[]) => (await execFileAsync('tmux', ['-S', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' })).stdout;
  const env = { PS1: '$ ', ...opts.env };
  await tmux(
    'new-session', '-d', '-s', 'test', '-x', String(opts.cols ?? 100), '-y', String(opts.rows ?? 30),
    ...(opts.cwd ? ['-c', opts.cwd] : []),
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    '/bin/sh',
  );
  await tmux('set-option', '-t', 'test', 'history-limit', '10000');
  const screen = async () =>
    (await tmux('capture-pane', '-p', '-J', '-t', 'test', '-S', '-10000'))
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n')
      .trimEnd();
  return {
    keys: async (...keys) => void (await tmux('send-keys', '-t', 'test', ...keys)),
    line: async (text) => {
      await tmux('send-keys', '-t', 'test', '-l', text);
      await tmux('send-keys', '-t', 'test', 'Enter');
    },
    screen,
    async waitFor(what, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = await screen();
        if (typeof what === 'string' ? text.includes(what) : what.test(text)) return text;
        if (Date.now() > deadline) throw new Error(`the terminal did not show ${String(what)} within ${timeoutMs / 1000} s; it shows:\n${text}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    resize: async (cols, rows) => void (await tmux('resize-window', '-t', 'test', '-x', String(cols), '-y', String(rows))),
    async kill() {
      await tmux('kill-server').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
