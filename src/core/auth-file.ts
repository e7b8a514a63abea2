/**
 * Registry credentials in the auth files Docker and Podman share ({"auths": {host: {auth:
 * base64(user:password)}}}). Read from --authfile, else $REGISTRY_AUTH_FILE, Podman's
 * $XDG_RUNTIME_DIR/containers/auth.json (/run/containers/UID/auth.json without it),
 * $XDG_CONFIG_HOME/containers/auth.json and ~/.docker/config.json; written (login/logout) to
 * the first of --authfile, $REGISTRY_AUTH_FILE and Podman's file, with mode 0600, atomically,
 * under a lock, keeping every other entry and field.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import type { Credentials } from './registry/index.js';
import { TspodError } from './errors.js';
import { DEFAULT_REGISTRY } from './reference.js';
import { writeFileAtomic } from '../store/atomic.js';

/** Where login writes and logout removes credentials (Podman's choice). */
export function writableAuthFile(authfile?: string): string {
  if (authfile) return authfile;
  if (process.env.REGISTRY_AUTH_FILE) return process.env.REGISTRY_AUTH_FILE;
  if (process.env.XDG_RUNTIME_DIR) return path.join(process.env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  return `/run/containers/${process.getuid!()}/auth.json`;
}

export function defaultAuthFiles(): string[] {
  const home = process.env.HOME || os.homedir();
  const configHome = process.env.XDG_CONFIG_HOME || path.join(home, '.config');
  return [...new Set([
    writableAuthFile(),
    path.join(configHome, 'containers', 'auth.json'),
    path.join(home, '.docker', 'config.json'),
  ])];
}

type AuthEntries = Record<string, { auth?: string }>;
type AuthDocument = { auths?: AuthEntries } & Record<string, unknown>;

/** The whole document; undefined when the file does not exist or cannot be read. */
function readDocument(file: string): AuthDocument | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new TspodError(`auth file ${file} is not valid JSON`, 'fix it or remove it and log in again');
  }
  return doc as AuthDocument;
}

/**
 * The key a registry is stored under: host[:port], whatever form the user typed it in
 * (https://host/v2/, index.docker.io).
 */
export function registryKey(input: string): string {
  const host = input.replace(/^[a-z]+:\/\//i, '').split('/')[0]!.toLowerCase();
  if (!host) throw new TspodError(`invalid registry "${input}"`, 'give a host[:port], e.g. quay.io or 127.0.0.1:5000');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DEFAULT_REGISTRY : host;
}

/** Docker Hub is stored under its legacy key too. */
function keysFor(registry: string): string[] {
  return registry === DEFAULT_REGISTRY ? ['docker.io', 'https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io'] : [registry, `https://${registry}`, `http://${registry}`];
}

export function credentialsFor(registry: string, authfile?: string): Credentials | undefined {
  for (const file of authfile ? [authfile] : defaultAuthFiles()) {
    const doc = readDocument(file);
    if (!doc && file === authfile) throw new TspodError(`cannot read auth file ${authfile}`, 'check the --authfile path');
    const auths = doc?.auths ?? {};
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

/** Runs `change` on the writable auth file's entries under its lock and writes the result (0600). */
async function updateAuthFile<T>(file: string, change: (auths: AuthEntries) => T): Promise<T> {
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new TspodError(`cannot create the directory of auth file ${file}`, (e as Error).message);
  }
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(file, {
      realpath: false,
      stale: 10_000,
      update: 2_000,
      retries: { retries: 100, factor: 1, minTimeout: 50, maxTimeout: 100 },
    });
  } catch (e) {
    throw new TspodError(`cannot lock auth file ${file}: ${(e as Error).message}`);
  }
  try {
    const doc = readDocument(file) ?? {};
    const auths: AuthEntries = { ...doc.auths };
    const result = change(auths);
    try {
      writeFileAtomic(file, JSON.stringify({ ...doc, auths }, null, '\t') + '\n', 0o600);
    } catch (e) {
      throw new TspodError(`cannot write auth file ${file}`, (e as Error).message);
    }
    return result;
  } finally {
    await release().catch(() => undefined);
  }
}

export async function storeCredentials(registry: string, credentials: Credentials, authfile?: string): Promise<void> {
  const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
  await updateAuthFile(writableAuthFile(authfile), (auths) => {
    auths[registry] = { ...auths[registry], auth };
  });
}

/** Removes a registry's credentials; false when there were none. */
export async function removeCredentials(registry: string, authfile?: string): Promise<boolean> {
  const file = writableAuthFile(authfile);
  const stored = readDocument(file)?.auths ?? {};
  if (!keysFor(registry).some((key) => key in stored)) return false;
  return updateAuthFile(file, (auths) => {
    const keys = keysFor(registry).filter((key) => key in auths);
    for (const key of keys) delete auths[key];
    return keys.length > 0;
  });
}

export async function removeAllCredentials(authfile?: string): Promise<void> {
  await updateAuthFile(writableAuthFile(authfile), (auths) => {
    for (const key of Object.keys(auths)) delete auths[key];
  });
}
