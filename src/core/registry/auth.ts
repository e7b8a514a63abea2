/** Registry authentication: WWW-Authenticate challenges, Basic credentials and Bearer tokens. */
import { z } from 'zod';
import { TspodError } from '../errors.js';
import { discard, networkError, readBody, send, type SendOptions } from './http.js';

export interface Credentials {
  username: string;
  password: string;
}

export type Challenge =
  | { scheme: 'basic' }
  | { scheme: 'bearer'; realm: URL; service?: string; scope?: string };

/** Parses the first challenge of a WWW-Authenticate header; undefined for schemes we do not speak. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  const m = header ? /^\s*(\w+)\s*(.*)$/s.exec(header) : null;
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'basic') return { scheme: 'basic' };
  if (scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  let realm: URL;
  try {
    realm = new URL(params.realm ?? '');
  } catch {
    return undefined;
  }
  if (realm.protocol !== 'https:' && realm.protocol !== 'http:') return undefined;
  return { scheme: 'bearer', realm, service: params.service, scope: params.scope };
}

export function basicAuthorization(c: Credentials): string {
  return 'Basic ' + Buffer.from(`${c.username}:${c.password}`).toString('base64');
}

const tokenResponse = z.object({
  token: z.string().min(1).optional(),
  access_token: z.string().min(1).optional(),
  expires_in: z.number().positive().optional(),
});

export interface Token {
  authorization: string;
  /** Epoch ms after which the token should not be sent any more. */
  expiresAt: number;
}

/** Tokens without expires_in live 60 s (the distribution spec's default); refresh a little early. */
const DEFAULT_TOKEN_LIFE_S = 60;
const EXPIRY_MARGIN_MS = 5_000;

/**
 * GETs a token for `scopes` (none: a login check) from the challenge's realm, with Basic
 * credentials when the user gave some.
 */
export async function fetchToken(
  challenge: Extract<Challenge, { scheme: 'bearer' }>,
  scopes: string[],
  credentials: Credentials | undefined,
  registry: string,
  http: SendOptions,
): Promise<Token> {
  const url = new URL(challenge.realm);
  if (challenge.service) url.searchParams.set('service', challenge.service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (credentials) headers.Authorization = basicAuthorization(credentials);
  const started = Date.now();
  let res;
  try {
    res = await send(url, { ...http, headers });
  } catch (e) {
    throw networkError(e, url.host);
  }
  if (res.statusCode === 401 || res.statusCode === 403) {
    discard(res);
    throw credentials
      ? new TspodError(`invalid username or password for ${registry}`)
      : new TspodError(`authentication required for ${registry}`, 'log in with credentials for it');
  }
  if (res.statusCode !== 200) {
    discard(res);
    throw new TspodError(`token server ${url.host} for ${registry} answered HTTP ${res.statusCode}`);
  }
  const body = await readBody(res, 1 << 20, `token from ${url.host}`, url.host);
  let parsed;
  try {
    parsed = tokenResponse.parse(JSON.parse(body.toString('utf8')));
  } catch {
    throw new TspodError(`token server ${url.host} for ${registry} sent an invalid answer`);
  }
  const token = parsed.token ?? parsed.access_token;
  if (!token) throw new TspodError(`token server ${url.host} for ${registry} sent no token`);
  const life = (parsed.expires_in ?? DEFAULT_TOKEN_LIFE_S) * 1000;
  return { authorization: `Bearer ${token}`, expiresAt: started + Math.max(life - EXPIRY_MARGIN_MS, life / 2) };
}
