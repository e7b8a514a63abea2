/**
 * tspod login / logout: credentials are checked against the registry before they are stored,
 * and kept only in the auth file (auth-file.ts), never in logs, messages or child processes.
 */
import { credentialsFor, registryKey, removeAllCredentials, removeCredentials, storeCredentials } from './auth-file.js';
import type { Engine } from './engine.js';
import { TspodError } from './errors.js';
import { registryClient, type RegistryAccessOptions } from './pull.js';
import { registryEntry } from './registries.js';
import type { Credentials } from './registry/index.js';

export interface LoginOptions extends Omit<RegistryAccessOptions, 'creds'> {
  credentials: Credentials;
}

function notLoggedIn(registry: string): TspodError {
  return new TspodError(`not logged into ${registry}`);
}

/** Verifies the credentials with the registry, then stores them; returns the registry's key. */
export async function login(engine: Engine, registryInput: string, opts: LoginOptions): Promise<string> {
  const registry = registryKey(registryInput);
  if (!opts.credentials.username) throw new TspodError('the username must not be empty');
  if (!opts.credentials.password) throw new TspodError('the password must not be empty');
  const client = registryClient(engine, registry, { host: registry, insecure: registryEntry(engine.registries, registry).insecure }, { ...opts, creds: opts.credentials });
  try {
    await client.checkCredentials();
  } finally {
    client.close();
  }
  await storeCredentials(registry, opts.credentials, opts.authfile);
  return registry;
}

/** The user name stored for a registry (login --get-login). */
export function loggedInUser(registryInput: string, authfile?: string): string {
  const registry = registryKey(registryInput);
  const credentials = credentialsFor(registry, authfile);
  if (!credentials) throw notLoggedIn(registry);
  return credentials.username;
}

/** The user name stored for a registry, if any: the default of an interactive prompt. */
export function storedUser(registryInput: string, authfile?: string): string | undefined {
  try {
    return credentialsFor(registryKey(registryInput), authfile)?.username;
  } catch {
    // A first login creates --authfile; a damaged one is the login's to report.
    return undefined;
  }
}

export async function logout(registryInput: string, authfile?: string): Promise<string> {
  const registry = registryKey(registryInput);
  if (!(await removeCredentials(registry, authfile))) throw notLoggedIn(registry);
  return registry;
}

export async function logoutAll(authfile?: string): Promise<void> {
  await removeAllCredentials(authfile);
}
