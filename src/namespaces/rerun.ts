/**
 * Running tspod itself again inside the rootless user + mount namespace, with the caller's stdio.
 * Commands that work on a container's files (cp, diff, export) need what only root of that
 * namespace has: the container's mounts, and access to files owned by subordinate ids.
 */
import { spawn } from 'node:child_process';
import type { NamespaceContext } from './userns.js';

/** True when this process is outside the namespace that `ns` describes and must enter it. */
export function mustEnter(ns: NamespaceContext): boolean {
  return ns.pausePid !== undefined;
}

/** Runs `tspod ARGV` inside the namespace; resolves to its exit status. Paths in argv must be absolute. */
export function rerunInNamespace(ns: NamespaceContext, argv: string[]): Promise<number> {
  const bin = process.env.TSPOD_BIN ?? process.argv[1];
  // `node --`: Node would otherwise read tspod's options (--env-file) as its own.
  const [cmd, ...args] = ns.wrap([process.execPath, '--', bin, ...argv]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
  });
}
