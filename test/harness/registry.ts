/**
 * Starts Debian's docker-registry (the reference distribution registry) on a free loopback port
 * with a throwaway storage dir. Plain HTTP by default; with `tls` it serves HTTPS with a CA the
 * harness creates, and with `auth` it requires htpasswd basic auth (which the distribution
 * registry only allows together with TLS). With `token` it requires Bearer tokens from a token
 * server (see token-server.ts).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RegistryOptions {
  tls?: boolean;
  auth?: { username: string; password: string };
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
}

export interface TestRegistry {
  /** host:port, e.g. 127.0.0.1:41234 */
  host: string;
  /** http://host or https://host */
  url: string;
  /** PEM file of the CA that signed the registry's certificate (tls only). */
  caFile?: string;
  dir: string;
  stop(): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function makeCertificate(dir: string): { caFile: string; certFile: string; keyFile: string } {
  const caKey = path.join(dir, 'ca.key');
  const caFile = path.join(dir, 'ca.crt');
  const keyFile = path.join(dir, 'server.key');
  const csr = path.join(dir, 'server.csr');
  const certFile = path.join(dir, 'server.crt');
  const ext = path.join(dir, 'san.ext');
  const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', '/CN=tspod test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', '/CN=127.0.0.1');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', ext);
  return { caFile, certFile, keyFile };
}

async function waitListening(port: number, child: ChildProcess, logFile: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited early:\n${logFile()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not listen on ${port}:\n${logFile()}`);
}

const running = new Set<TestRegistry>();
process.on('exit', () => { for (const r of running) r.stop(); });

export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tspod-registry-'));
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log: { level: warn, accesslog: { disabled: true } }',
    `storage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  let caFile: string | undefined;
  if (opts.tls || opts.auth) {
    const cert = makeCertificate(dir);
    caFile = cert.caFile;
    lines.push(`  tls: { certificate: ${cert.certFile}, key: ${cert.keyFile} }`);
  }
  if (opts.auth) {
    const htpasswd = path.join(dir, 'htpasswd');
    execFileSync('htpasswd', ['-Bbc', htpasswd, opts.auth.username, opts.auth.password], { stdio: 'ignore' });
    lines.push(`auth: { htpasswd: { realm: tspod-test, path: ${htpasswd} } }`);
  }
  if (opts.token) {
    const t = opts.token;
    lines.push('auth:', '  token:', `    realm: "${t.realm}"`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${t.rootCertBundle}`);
  }
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, lines.join('\n') + '\n');
  let log = '';
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => { log += d; });
  child.stderr!.on('data', (d) => { log += d; });
  await waitListening(port, child, () => log);
  const scheme = caFile ? 'https' : 'http';
  const registry: TestRegistry = {
    host: `127.0.0.1:${port}`,
    url: `${scheme}://127.0.0.1:${port}`,
    caFile,
    dir,
    stop() {
      if (!running.delete(registry)) return;
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(registry);
  return registry;
}
