/**
 * Restart policies across reboots without a daemon: a systemd unit that runs
 * `tspod start --all --filter restart-policy=always --filter restart-policy=unless-stopped` when
 * the service manager starts (the system's at boot; rootless, the user's at login, or at boot
 * with lingering). Podman ships the same idea as podman-restart.service. While the containers
 * run, conmon's exit command applies the policies; this unit only covers what a reboot ends.
 */
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TspodError } from '../errors.js';
import { writeFileAtomic } from '../../store/atomic.js';

export const UNIT_NAME = 'tspod-restart.service';

/** Where systemd looks for the unit: the system's units as root, the user's otherwise. */
export function defaultUnitDir(rootless: boolean): string {
  if (!rootless) return '/etc/systemd/system';
  const configHome = process.env.XDG_CONFIG_HOME || path.join(process.env.HOME || os.homedir(), '.config');
  return path.join(configHome, 'systemd', 'user');
}

/** One ExecStart word: systemd splits on blanks and expands % specifiers and $ variables. */
function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /[\s"'\\;]/.test(escaped) || escaped === '' ? `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : escaped;
}

/**
 * The unit's text. `tspod` is the command line that runs tspod (node, the bin script, and the
 * global flags that pick this store).
 */
export function restartUnit(tspod: string[], rootless: boolean): string {
  const start = [...tspod, 'start', '--all', '--filter', 'restart-policy=always', '--filter', 'restart-policy=unless-stopped'];
  return [
    '# Written by `tspod system service install`.',
    '[Unit]',
    'Description=tspod: start the containers whose restart policy is always or unless-stopped',
    'StartLimitIntervalSec=0',
    // The user's service manager has no network-online.target of its own.
    ...(rootless ? [] : ['Wants=network-online.target', 'After=network-online.target']),
    '',
    '[Service]',
    'Type=oneshot',
    // The containers' monitors (conmon) stay in this unit: it must stay active while they run.
    'RemainAfterExit=true',
    // "-": a container that cannot start must not fail the unit, which would end the others.
    `ExecStart=-${start.map(systemdWord).join(' ')}`,
    '',
    '[Install]',
    `WantedBy=${rootless ? 'default.target' : 'multi-user.target'}`,
    '',
  ].join('\n');
}

/** Writes the unit into `dir`; its path. */
export function installRestartUnit(dir: string, tspod: string[], rootless: boolean): string {
  const file = path.join(dir, UNIT_NAME);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    writeFileAtomic(file, restartUnit(tspod, rootless), 0o644);
  } catch (e) {
    throw new TspodError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'check the directory, or choose another with --unit-dir');
  }
  return file;
}

/** Removes the unit from `dir`; its path. */
export function uninstallRestartUnit(dir: string): string {
  const file = path.join(dir, UNIT_NAME);
  try {
    rmSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new TspodError(`there is no ${file}`, 'nothing to uninstall');
    throw new TspodError(`cannot remove ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return file;
}
