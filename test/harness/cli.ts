/**
 * Runs the built CLI end to end against a throwaway store (its own --root and --runroot), and
 * removes the store afterwards from inside the user namespace (layer files belong to
 * subordinate ids there).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { joinUserNamespace, stopUserNamespace } from '../../src/namespaces/userns.js';
import { removeTree } from '../../src/namespaces/extract.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = path.join(REPO, 'bin', 'tspod');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestStore {
  root: string;
  runroot: string;
  /** XDG_CONFIG_HOME of the runs: registries.json and certs.d go in configDir */
  configDir: string;
  /** runs `tspod --root R --runroot RR ARGS` */
  tspod(args: string[], opts?: { input?: string; env?: Record<string, string> }): Promise<RunResult>;
  /** writes the registries.json the runs read (TSPOD_REGISTRIES_CONF, so as root too) */
  registries(config: object): void;
  cleanup(): Promise<void>;
}

export function run(argv: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

export function makeStore(): TestStore {
  const base = mkdtempSync(path.join(os.tmpdir(), 'tspod-test-'));
  const root = path.join(base, 'root');
  const runroot = path.join(base, 'run');
  const configHome = path.join(base, 'config');
  const configDir = path.join(configHome, 'tspod');
  mkdirSync(configDir, { recursive: true });
  const registriesFile = path.join(configDir, 'registries.json');
  writeFileSync(registriesFile, '{}');
  const env = {
    XDG_CONFIG_HOME: configHome,
    XDG_DATA_HOME: path.join(base, 'data'),
    REGISTRY_AUTH_FILE: path.join(base, 'auth.json'),
    TSPOD_REGISTRIES_CONF: registriesFile,
  };
  return {
    root,
    runroot,
    configDir,
    tspod: (args, opts = {}) => run([process.execPath, '--', BIN, '--root', root, '--runroot', runroot, ...args], { ...opts, env: { ...env, ...opts.env } }),
    registries: (config) => writeFileSync(registriesFile, JSON.stringify(config)),
    async cleanup() {
      const ns = await joinUserNamespace({ runroot });
      await removeTree(ns, root);
      await stopUserNamespace({ runroot });
      rmSync(base, { recursive: true, force: true });
    },
  };
}
