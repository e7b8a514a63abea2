/**
 * Where tspod keeps things, following XDG and Podman's habits: rootless data under
 * $XDG_DATA_HOME/tspod, run state under $XDG_RUNTIME_DIR/tspod, config under
 * $XDG_CONFIG_HOME/tspod; as root /var/lib/tspod, /run/tspod and /etc/tspod.
 */
import { mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TspodError } from '../core/errors.js';

export interface StorePaths {
  /** Images, layers, containers: --root */
  root: string;
  /** Run state (pause process, locks of running things): --runroot */
  runroot: string;
  /** The user's config dir (registries.json); system-wide config is always /etc/tspod. */
  configDir: string;
  systemConfigDir: string;
  rootless: boolean;
}

export const SYSTEM_CONFIG_DIR = '/etc/tspod';

export function isRootless(): boolean {
  return process.geteuid!() !== 0;
}

function home(): string {
  return process.env.HOME || os.homedir();
}

function defaultRunroot(rootless: boolean): string {
  if (!rootless) return '/run/tspod';
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && isOwnedDir(xdg)) return path.join(xdg, 'tspod');
  return path.join(os.tmpdir(), `tspod-run-${process.getuid!()}`);
}

function isOwnedDir(dir: string): boolean {
  try {
    const st = statSync(dir);
    return st.isDirectory() && st.uid === process.getuid!();
  } catch {
    return false;
  }
}

export function resolvePaths(overrides: { root?: string; runroot?: string } = {}): StorePaths {
  const rootless = isRootless();
  const dataHome = process.env.XDG_DATA_HOME || path.join(home(), '.local', 'share');
  const configHome = process.env.XDG_CONFIG_HOME || path.join(home(), '.config');
  return {
    root: path.resolve(overrides.root ?? (rootless ? path.join(dataHome, 'tspod') : '/var/lib/tspod')),
    runroot: path.resolve(overrides.runroot ?? defaultRunroot(rootless)),
    configDir: rootless ? path.join(configHome, 'tspod') : SYSTEM_CONFIG_DIR,
    systemConfigDir: SYSTEM_CONFIG_DIR,
    rootless,
  };
}

/**
 * Creates a private (0700) directory and checks that it is ours: a run dir in /tmp could have
 * been created by another user to hijack ours.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new TspodError(`cannot create directory ${dir}: ${(e as NodeJS.ErrnoException).code}`, 'check its parent\'s permissions or pass --root/--runroot');
  }
  if (!isOwnedDir(dir)) {
    throw new TspodError(`directory ${dir} is not owned by uid ${process.getuid!()}`, 'remove it or pass another --root/--runroot');
  }
}
