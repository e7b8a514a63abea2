/**
 * Registry credentials from the auth files Docker and Podman share ({"auths": {host: {auth:
 * base64(user:password)}}}): --authfile, else $XDG_RUNTIME_DIR/containers/auth.json, else
 * ~/.docker/config.json.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Credentials } from './registry/index.js';
import { TspodError } from './errors.js';

export function defaultAuthFiles(): string[] {
  const files: string[] = [];
  if (process.env.REGISTRY_AUTH_FILE) files.push(process.env.REGISTRY_AUTH_FILE);
  const runtimeDir = process.env.XDG_RUNTIME_DIR || (process.getuid!() === 0 ? '/run' : undefined);
  if (runtimeDir) files.push(path.join(runtimeDir, 'containers', 'auth.json'));
  files.push(path.join(process.env.HOME || os.homedir(), '.docker', 'config.json'));
  return files;
}

function readAuths(file: string): Record<string, { auth?: string }> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return (JSON.parse(text) as { auths?: Record<string, { auth?: string }> }).auths ?? {};
  } catch {
    throw new TspodError(`auth file ${file} is not valid JSON`, 'fix it or log in again');
  }
}

/** Docker Hub is stored under its legacy key too. */
function keysFor(registry: string): string[] {
  return registry === 'docker.io' ? ['docker.io', 'https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io'] : [registry, `https://${registry}`, `http://${registry}`];
}

export function credentialsFor(registry: string, authfile?: string): Credentials | undefined {
  for (const file of authfile ? [authfile] : defaultAuthFiles()) {
    const auths = readAuths(file);
    if (!auths && file === authfile) throw new TspodError(`cannot read auth file ${authfile}`, 'check the --authfile path');
    if (!auths) continue;
    for (const key of keysFor(registry)) {
      const encoded = auths[key]?.auth;
      if (!encoded) continue;
      const decoded = Buffer.from(encoded, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
  }
  return undefined;
}

/** Parses --creds USER[:PASSWORD]. */
export function parseCreds(creds: string): Credentials {
  const colon = creds.indexOf(':');
  if (colon <= 0) throw new TspodError('--creds must be USERNAME:PASSWORD');
  return { username: creds.slice(0, colon), password: creds.slice(colon + 1) };
}
