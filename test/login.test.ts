/**
 * tspod login / logout against loopback registries (htpasswd over TLS, Bearer tokens, and one
 * that asks for nothing): credentials checked before they are stored, the auth file's format,
 * mode, location and other entries, --password-stdin, -p's warning, the terminal prompt with
 * the password not echoed, logout and logout --all, and passwords absent from every message.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BIN, makeStore, type RunResult, type TestStore } from './harness/cli.js';
import { freePort, startRegistry, type TestRegistry } from './harness/registry.js';
import { startTokenServer, type TokenServer } from './harness/token-server.js';
import { startTmux } from './harness/tmux.js';
import { assertOk, assertOneError } from './harness/store-checks.js';
import { seedRegistry } from './fixtures/seed.js';

const test = suite('login');

const USER = { username: 'alice', password: 'Wonder-land-77' };
const WRONG = 'Not-The-Password-13';

const env = {} as {
  auth: TestRegistry;
  certDir: string;
  tokenServer: TokenServer;
  token: TestRegistry;
  open: TestRegistry;
  store: TestStore;
  /** a scratch directory for auth files and homes */
  dir: string;
};

const encoded = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

let files = 0;
function authFile(): string {
  return path.join(env.dir, `auth-${files++}.json`);
}

function readJson(file: string): any {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function login(args: string[], input?: string, extraEnv?: Record<string, string>): Promise<RunResult> {
  return env.store.tspod(['login', ...args], { input, env: extraEnv });
}

function assertNoSecret(r: RunResult, ...secrets: string[]): void {
  for (const secret of secrets) {
    assert.not.ok(r.stdout.includes(secret) || r.stderr.includes(secret), `"${secret}" appears in the output:\n${r.stdout}${r.stderr}`);
    assert.not.ok(r.stderr.includes(encoded(USER.username, secret)), 'nor does its base64 form');
  }
}

test.before(async () => {
  env.tokenServer = await startTokenServer({ users: { [USER.username]: USER.password } });
  [env.auth, env.token, env.open] = await Promise.all([startRegistry({ auth: USER }), startRegistry({ token: env.tokenServer.auth }), startRegistry()]);
  env.dir = mkdtempSync(path.join(os.tmpdir(), 'tspod-login-'));
  env.certDir = path.join(env.dir, 'certs');
  mkdirSync(env.certDir);
  copyFileSync(env.auth.caFile!, path.join(env.certDir, 'ca.crt'));
  env.store = makeStore();
});

test.after(async () => {
  await env.store?.cleanup();
  for (const r of [env.auth, env.token, env.open]) r?.stop();
  env.tokenServer?.stop();
  if (env.dir) rmSync(env.dir, { recursive: true, force: true });
});

test('htpasswd over TLS: a good login is stored (0600, shared format, other entries kept); a wrong password stores nothing', async () => {
  const file = authFile();
  const other = { auths: { 'quay.io': { auth: encoded('bob', 'builder') } }, credHelpers: { 'gcr.io': 'gcloud' } };
  writeFileSync(file, JSON.stringify(other), { mode: 0o644 });
  const certs = ['--cert-dir', env.certDir, '--authfile', file];

  const bad = await login([...certs, '-u', USER.username, '--password-stdin', env.auth.host], `${WRONG}\n`);
  assertOneError(bad, new RegExp(`invalid username or password for ${env.auth.host}`));
  assertNoSecret(bad, WRONG);
  assert.equal(readJson(file), other, 'nothing stored after a wrong password');

  const good = await login([...certs, '-u', USER.username, '--password-stdin', env.auth.host], `${USER.password}\n`);
  assertOk(good, 'login');
  assert.is(good.stdout, 'Login Succeeded!\n');
  assertNoSecret(good, USER.password);
  assert.equal(readJson(file), { ...other, auths: { ...other.auths, [env.auth.host]: { auth: encoded(USER.username, USER.password) } } });
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.equal((await login(['--authfile', file, '--get-login', env.auth.host])).stdout, `${USER.username}\n`);

  const noCa = await login(['--authfile', file, '-u', USER.username, '--password-stdin', env.auth.host], USER.password);
  assertOneError(noCa, /TLS certificate of registry .* is not trusted/);
  const insecure = await login(['--authfile', file, '--tls-verify=false', '-u', USER.username, '--password-stdin', env.auth.host], USER.password);
  assertOk(insecure, 'login --tls-verify=false');
});

test('-p works and warns; -p with --password-stdin, --password-stdin without -u, and no terminal are refused', async () => {
  const file = authFile();
  const r = await login(['--authfile', file, '--cert-dir', env.certDir, '-u', USER.username, '-p', USER.password, env.auth.host]);
  assertOk(r, 'login -p');
  assert.is(r.stderr, 'WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  assert.is(readJson(file).auths[env.auth.host].auth, encoded(USER.username, USER.password));
  assertOneError(await login(['--authfile', file, '-u', 'x', '-p', 'y', '--password-stdin', env.auth.host], 'y'), /mutually exclusive/);
  assertOneError(await login(['--authfile', file, '--password-stdin', env.auth.host], 'y'), /must provide --username with --password-stdin/);
  assertOneError(await login(['--authfile', file, '-u', USER.username, env.auth.host]), /cannot prompt for the password: stdin is not a terminal/);
  assertOneError(await login(['--authfile', file, env.auth.host]), /cannot prompt for the username: stdin is not a terminal/);
});

test('token registry: good and bad credentials; an open registry accepts any; an unreachable one fails', async () => {
  const file = authFile();
  const bad = await login(['--authfile', file, '-u', USER.username, '--password-stdin', env.token.host], WRONG);
  assertOneError(bad, new RegExp(`invalid username or password for ${env.token.host}`));
  assertNoSecret(bad, WRONG);
  assert.not.ok(existsSync(file), 'no auth file written');
  const requests = env.tokenServer.requests;
  assertOk(await login(['--authfile', file, '-u', USER.username, '--password-stdin', env.token.host], USER.password), 'login');
  assert.ok(env.tokenServer.requests > requests, 'the token server checked the credentials');
  assertOk(await login(['--authfile', file, '-u', 'anyone', '--password-stdin', env.open.host], 'anything'), 'login to an open registry');
  assert.equal(Object.keys(readJson(file).auths).sort(), [env.open.host, env.token.host].sort());

  const closed = `127.0.0.1:${await freePort()}`;
  const r = await login(['--authfile', file, '-u', USER.username, '--password-stdin', closed], USER.password);
  assertOneError(r, new RegExp(`cannot reach registry ${closed}: connection refused`));
  assertNoSecret(r, USER.password);
  assert.not.ok(closed in readJson(file).auths);
});

test('logout removes one registry, Podman\'s error when not logged in, --all empties the file', async () => {
  const file = authFile();
  writeFileSync(file, JSON.stringify({ auths: { [env.auth.host]: { auth: encoded('a', 'b') }, 'quay.io': { auth: encoded('c', 'd') } } }));
  const r = await env.store.tspod(['logout', '--authfile', file, env.auth.host]);
  assertOk(r, 'logout');
  assert.is(r.stdout, `Removed login credentials for ${env.auth.host}\n`);
  assert.equal(Object.keys(readJson(file).auths), ['quay.io']);
  assert.is(statSync(file).mode & 0o777, 0o600);
  assertOneError(await env.store.tspod(['logout', '--authfile', file, env.auth.host]), new RegExp(`^Error: not logged into ${env.auth.host}$`));
  assertOneError(await login(['--authfile', file, '--get-login', env.auth.host]), new RegExp(`not logged into ${env.auth.host}`));
  const all = await env.store.tspod(['logout', '--all', '--authfile', file]);
  assertOk(all, 'logout --all');
  assert.is(all.stdout, 'Removed login credentials for all registries\n');
  assert.equal(readJson(file), { auths: {} });
  // docker.io is the default registry, in any of its spellings.
  writeFileSync(file, JSON.stringify({ auths: { 'https://index.docker.io/v1/': { auth: encoded('a', 'b') } } }));
  assert.is((await login(['--authfile', file, '--get-login'])).stdout, 'a\n');
  assertOk(await env.store.tspod(['logout', '--authfile', file]), 'logout docker.io');
  assert.equal(readJson(file), { auths: {} });
});

test('default locations: $XDG_RUNTIME_DIR/containers/auth.json is written; ~/.docker/config.json is read', async () => {
  const runtime = path.join(env.dir, 'runtime');
  const home = path.join(env.dir, 'home');
  mkdirSync(runtime);
  mkdirSync(path.join(home, '.docker'), { recursive: true });
  const defaults = { REGISTRY_AUTH_FILE: '', XDG_RUNTIME_DIR: runtime, HOME: home };
  assertOk(await login(['--cert-dir', env.certDir, '-u', USER.username, '--password-stdin', env.auth.host], USER.password, defaults), 'login');
  const file = path.join(runtime, 'containers', 'auth.json');
  assert.equal(readJson(file), { auths: { [env.auth.host]: { auth: encoded(USER.username, USER.password) } } });
  assert.is(statSync(file).mode & 0o777, 0o600);
  assertOk(await env.store.tspod(['logout', env.auth.host], { env: defaults }), 'logout');

  // Docker's file alone: pull uses it.
  await seedRegistry({ url: env.auth.url, caFile: env.auth.caFile, auth: USER }, ['busybox']);
  const name = `${env.auth.host}/library/busybox:latest`;
  assertOneError(await env.store.tspod(['pull', '-q', '--cert-dir', env.certDir, name], { env: defaults }), /authentication required/);
  writeFileSync(path.join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [env.auth.host]: { auth: encoded(USER.username, USER.password) } } }));
  assertOk(await env.store.tspod(['pull', '-q', '--cert-dir', env.certDir, name], { env: defaults }), 'pull with ~/.docker/config.json');
  assert.is((await login(['--get-login', env.auth.host], undefined, defaults)).stdout, `${USER.username}\n`);
});

test('on a terminal: asks for the username and the password, which is not echoed', async () => {
  const file = authFile();
  const term = await startTmux({ cols: 200 });
  try {
    const argv = [process.execPath, '--', BIN, '--root', env.store.root, '--runroot', env.store.runroot, 'login', '--authfile', file, '--cert-dir', env.certDir, env.auth.host];
    await term.line(`${argv.map((w) => `'${w}'`).join(' ')}; echo "exit-status=$?"`);
    await term.waitFor(/Username:$/m);
    await term.line(USER.username);
    await term.waitFor(/Password:$/m);
    await term.line(USER.password);
    const screen = await term.waitFor(/^exit-status=\d+$/m);
    assert.match(screen, /^Login Succeeded!$/m);
    assert.match(screen, /^exit-status=0$/m);
    assert.not.ok(screen.includes(USER.password), `the password is not echoed:\n${screen}`);
    assert.is(readJson(file).auths[env.auth.host].auth, encoded(USER.username, USER.password));
  } finally {
    await term.kill();
  }
});

test.run();
