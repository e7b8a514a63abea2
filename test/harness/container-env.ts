/**
 * A store with images pulled, for tests that run containers through the CLI: a loopback
 * registry seeded with fixture images that stands in for docker.io (a mirror), so `busybox` and
 * `debian` are the short names a user types.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { BIN, makeStore, type RunResult, type TestStore } from './cli.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { seedRegistry, type FixtureName } from '../fixtures/seed.js';

export interface ContainerEnv {
  registry: TestRegistry;
  store: TestStore;
  /** the store's tspod */
  tspod(args: string[], opts?: { input?: string; env?: Record<string, string> }): Promise<RunResult>;
  /** tspod that must succeed; its stdout */
  ok(args: string[], opts?: { input?: string }): Promise<string>;
  /** A shell command line running this store's tspod (for a terminal). */
  shellCommand(args: string[]): string;
  /** This store's tspod as a child process that runs on (logs -f), stdin closed. */
  spawn(args: string[]): ChildProcess;
  close(): Promise<void>;
}

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

export async function openContainerEnv(images: FixtureName[]): Promise<ContainerEnv> {
  const registry = await startRegistry();
  await seedRegistry({ url: registry.url }, images);
  const store = makeStore();
  store.registries({ registries: { 'docker.io': { mirrors: [registry.host] } } });
  const ok = async (args: string[], opts?: { input?: string }) => {
    const r = await store.tspod(args, opts);
    assert.is(r.code, 0, `tspod ${args.join(' ')} failed (exit ${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  for (const image of images) await ok(['pull', '-q', image]);
  const env = {
    XDG_CONFIG_HOME: path.dirname(store.configDir),
    TSPOD_REGISTRIES_CONF: path.join(store.configDir, 'registries.json'),
  };
  return {
    registry,
    store,
    tspod: (args, opts) => store.tspod(args, opts),
    ok,
    spawn: (args) =>
      spawn(process.execPath, ['--', BIN, '--root', store.root, '--runroot', store.runroot, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }),
    shellCommand: (args) =>
      [...Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`), process.execPath, '--', BIN, '--root', store.root, '--runroot', store.runroot, ...args]
        .map((w, i) => (i < Object.keys(env).length ? w : quote(w)))
        .join(' '),
    async close() {
      // Whatever a failed test left running goes first: its mounts would keep files busy.
      await store.tspod(['rm', '-af']).catch(() => undefined);
      // conmon's exit command (tspod container cleanup) of a removed container may still be on
      // its way, and would create the store's directories again.
      await until('no tspod process uses the store any more', () => (processesMentioning(store.root).length ? undefined : true), 30_000).catch(() => undefined);
      await store.cleanup();
      registry.stop();
    },
  };
}

/** Polls `check` until it returns a value (not undefined), for at most `timeoutMs`. */
export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Live processes whose command line mentions `text`: "pid: cmdline". */
export function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${entry}/stat`, 'utf8'))) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(text)) found.push(`${entry}: ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
