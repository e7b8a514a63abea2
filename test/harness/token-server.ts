/**
 * A Bearer token server for a test registry run with `auth: token`. Distribution 2.8 accepts
 * RS256 JWTs whose x5c certificate chains to its `rootcertbundle`, so this makes a root CA and a
 * signing certificate under it. Users with the right password get the actions they ask for;
 * anonymous callers get `anonymous` (default: nothing), and wrong passwords get a 401.
 */
import { createSign, randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TokenServerOptions {
  users: Record<string, string>;
  /** Actions granted without credentials, e.g. ['pull']. */
  anonymous?: string[];
}

export interface TokenServer {
  /** The registry's `auth: token:` settings. */
  auth: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** Token requests answered so far, including refusals. */
  requests: number;
  /** The JSON field the token is sent in: `token`, or `access_token` (OAuth style). */
  field: 'token' | 'access_token';
  /** Tokens still to issue for the wrong audience, which the registry refuses as if they had expired. */
  invalidTokens: number;
  stop(): void;
}

const base64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function makeSigner(dir: string): { rootFile: string; keyPem: string; certDer: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  const f = (n: string) => path.join(dir, n);
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('root.key'), '-out', f('root.crt'), '-days', '2', '-subj', '/CN=tspod test token root');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('signer.key'), '-out', f('signer.csr'), '-subj', '/CN=tspod test token signer');
  run('x509', '-req', '-in', f('signer.csr'), '-CA', f('root.crt'), '-CAkey', f('root.key'), '-CAcreateserial', '-out', f('signer.crt'), '-days', '2');
  const pem = readFileSync(f('signer.crt'), 'utf8');
  const certDer = pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
  return { rootFile: f('root.crt'), keyPem: readFileSync(f('signer.key'), 'utf8'), certDer };
}

/** Parses the `repository:name:actions` scopes of a token request. */
function requestedAccess(scopes: string[]): { type: string; name: string; actions: string[] }[] {
  return scopes.flatMap((s) => {
    const m = /^(repository):(.+):([a-z,*]+)$/.exec(s);
    return m ? [{ type: m[1]!, name: m[2]!, actions: m[3]!.split(',') }] : [];
  });
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tspod-token-'));
  const signer = makeSigner(dir);
  const service = 'tspod-test-registry';
  const issuer = 'tspod-test-issuer';

  function sign(subject: string, access: { type: string; name: string; actions: string[] }[]): string {
    const now = Math.floor(Date.now() / 1000);
    const invalid = tokenServer.invalidTokens > 0;
    if (invalid) tokenServer.invalidTokens--;
    const aud = invalid ? 'some-other-service' : service;
    const header = { typ: 'JWT', alg: 'RS256', x5c: [signer.certDer] };
    const claims = { iss: issuer, sub: subject, aud, iat: now, nbf: now - 10, exp: now + 300, jti: randomUUID(), access };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(input).sign(signer.keyPem);
    return `${input}.${base64url(signature)}`;
  }

  const server = http.createServer((req, res) => {
    tokenServer.requests++;
    const url = new URL(req.url!, 'http://token');
    const access = requestedAccess(url.searchParams.getAll('scope'));
    const header = req.headers.authorization;
    let subject = '';
    let allowed = opts.anonymous ?? [];
    if (header) {
      const [user, ...rest] = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString().split(':');
      if (!user || opts.users[user] === undefined || opts.users[user] !== rest.join(':')) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      subject = user;
      allowed = ['pull', 'push', '*'];
    }
    const granted = access.map((a) => ({ ...a, actions: a.actions.filter((x) => allowed.includes(x)) }));
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ [tokenServer.field]: sign(subject, granted), expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const tokenServer: TokenServer = {
    auth: { realm: `http://127.0.0.1:${port}/token`, service, issuer, rootCertBundle: signer.rootFile },
    requests: 0,
    field: 'token',
    invalidTokens: 0,
    stop() {
      server.close();
      server.closeAllConnections();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return tokenServer;
}
