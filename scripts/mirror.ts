/**
 * A loopback "Docker Hub mirror" for machines that cannot reach Docker Hub:
 *
 *   node dist/scripts/mirror.js start    (root) start Debian's docker-registry on 127.0.0.1:5000
 *                                        (or TSPOD_MIRROR_PORT), seed library/busybox and
 *                                        library/debian into it, and point docker.io at it in
 *                                        /etc/tspod/registries.json
 *   node dist/scripts/mirror.js stop     stop the registry it started (its data stays)
 *   node dist/scripts/mirror.js status   say whether it answers and what it holds
 *
 * Each step checks before it acts, so `start` on a machine already set up changes nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MEDIA } from '../test/harness/push.js';
import { debianUnavailable } from '../test/fixtures/images.js';
import { FIXTURE_REFS, seedRegistry, type FixtureName } from '../test/fixtures/seed.js';

const STATE_DIR = '/var/lib/tspod-mirror';
const DATA_DIR = path.join(STATE_DIR, 'data');
const CONFIG_FILE = path.join(STATE_DIR, 'config.yml');
const LOG_FILE = path.join(STATE_DIR, 'registry.log');
const PID_FILE = path.join(STATE_DIR, 'registry.pid');
const REGISTRIES_FILE = '/etc/tspod/registries.json';
const HOST = '127.0.0.1';
const SEEDED: FixtureName[] = ['busybox', 'debian'];
const ACCEPT = [MEDIA.oci.index, MEDIA.oci.manifest, MEDIA.docker.index, MEDIA.docker.manifest].join(', ');

class MirrorError extends Error {}

function port(): number {
  const raw = process.env.TSPOD_MIRROR_PORT ?? '5000';
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 65535) throw new MirrorError(`TSPOD_MIRROR_PORT=${raw} is not a port number`);
  return n;
}

const say = (line: string) => console.log(`mirror: ${line}`);

function request(method: string, urlPath: string, headers: Record<string, string> = {}): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.request({ host: HOST, port: port(), method, path: urlPath, headers, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** The HTTP status of GET /v2/, or undefined when nothing answers. */
const ping = () => request('GET', '/v2/');

function readPid(): number | undefined {
  try {
    const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The pid from the pid file, if that process is still the registry this script started. */
function ourRegistryPid(): number | undefined {
  const pid = readPid();
  if (pid === undefined) return undefined;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => a.endsWith('docker-registry')) && argv.includes(CONFIG_FILE) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new MirrorError(`${what} must run as root (it writes ${STATE_DIR} and ${REGISTRIES_FILE})`);
}

async function waitUntilAnswering(child: { exitCode: number | null }): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if ((await ping()) === 200) return;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = existsSync(LOG_FILE) ? readFileSync(LOG_FILE, 'utf8').split('\n').slice(-15).join('\n') : '';
  throw new MirrorError(`docker-registry did not answer on ${HOST}:${port()}; end of ${LOG_FILE}:\n${log}`);
}

async function startRegistry(): Promise<void> {
  const status = await ping();
  if (status === 200) {
    say(`a registry already answers on ${HOST}:${port()}`);
    return;
  }
  if (status !== undefined) throw new MirrorError(`${HOST}:${port()} is taken by something that is not a registry (GET /v2/ answered ${status}); set TSPOD_MIRROR_PORT`);
  mkdirSync(DATA_DIR, { recursive: true });
  writeFileSync(
    CONFIG_FILE,
    [
      'version: 0.1',
      'log: { level: info, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${DATA_DIR} }, delete: { enabled: true } }`,
      `http: { addr: "${HOST}:${port()}" }`,
      '',
    ].join('\n'),
  );
  const log = openSync(LOG_FILE, 'a');
  // detached: its own session (setsid), so it outlives this script and the shell that ran it.
  const child = spawn('docker-registry', ['serve', CONFIG_FILE], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e) => reject(new MirrorError(`cannot start docker-registry: ${e.message} (apt-get install docker-registry)`)));
  });
  await spawned;
  writeFileSync(PID_FILE, `${child.pid}\n`);
  child.unref();
  try {
    await waitUntilAnswering(child);
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(PID_FILE, { force: true });
    throw e;
  }
  say(`docker-registry started on ${HOST}:${port()} (pid ${child.pid}, data ${DATA_DIR}, log ${LOG_FILE})`);
}

async function hasManifest(repo: string, tag: string): Promise<boolean> {
  return (await request('HEAD', `/v2/${repo}/manifests/${tag}`, { Accept: ACCEPT })) === 200;
}

function buildDebianCache(): void {
  if (!debianUnavailable()) return;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'scripts', 'fixtures', 'debian-rootfs.sh'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new MirrorError('scripts/fixtures/debian-rootfs.sh not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  say('building the Debian bookworm rootfs cache with debootstrap (a minute or two, once per machine)');
  const r = spawnSync('sh', [path.join(dir, 'scripts', 'fixtures', 'debian-rootfs.sh')], { stdio: 'inherit' });
  if (r.status !== 0) throw new MirrorError('scripts/fixtures/debian-rootfs.sh failed');
}

async function seed(): Promise<void> {
  for (const name of SEEDED) {
    const { repo, tags } = FIXTURE_REFS[name];
    const present = await Promise.all(tags.map((tag) => hasManifest(repo, tag)));
    if (present.every(Boolean)) {
      say(`${repo}:${tags.join(',')} already present`);
      continue;
    }
    if (name === 'debian') buildDebianCache();
    const seeded = await seedRegistry({ url: `http://${HOST}:${port()}` }, [name]);
    say(`pushed ${repo}:${tags.join(',')} (${seeded[name]!.digest})`);
  }
}

/**
 * registries.json with the mirror added for docker.io, keeping whatever else it says; undefined
 * when it already has it. Read before anything starts, so a broken file changes nothing.
 */
function plannedRegistries(): string | undefined {
  const mirror = `${HOST}:${port()}`;
  let config: Record<string, unknown> = {};
  if (existsSync(REGISTRIES_FILE)) {
    try {
      config = JSON.parse(readFileSync(REGISTRIES_FILE, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new MirrorError(`${REGISTRIES_FILE} is not valid JSON (${(e as Error).message.split('\n')[0]}); fix it, nothing was changed`);
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new MirrorError(`${REGISTRIES_FILE} is not a JSON object; fix it, nothing was changed`);
  }
  const registries = (config.registries ?? {}) as Record<string, { mirrors?: string[] }>;
  const dockerIo = registries['docker.io'] ?? {};
  const mirrors = dockerIo.mirrors ?? [];
  if (mirrors.includes(mirror) && config.unqualifiedSearchRegistries !== undefined) return undefined;
  const next = {
    ...config,
    registries: { ...registries, 'docker.io': { ...dockerIo, mirrors: mirrors.includes(mirror) ? mirrors : [mirror, ...mirrors] } },
    unqualifiedSearchRegistries: config.unqualifiedSearchRegistries ?? ['docker.io'],
  };
  return JSON.stringify(next, null, 2) + '\n';
}

function writeRegistries(content: string | undefined): void {
  if (content === undefined) {
    say(`${REGISTRIES_FILE} already sends docker.io to ${HOST}:${port()}`);
    return;
  }
  mkdirSync(path.dirname(REGISTRIES_FILE), { recursive: true, mode: 0o755 });
  const tmp = `${REGISTRIES_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o644 });
  renameSync(tmp, REGISTRIES_FILE);
  say(`${REGISTRIES_FILE}: docker.io now pulls through ${HOST}:${port()}`);
}

async function start(): Promise<void> {
  requireRoot('start');
  const registries = plannedRegistries();
  await startRegistry();
  await seed();
  writeRegistries(registries);
}

async function stop(): Promise<void> {
  const pid = ourRegistryPid();
  if (pid === undefined) {
    rmSync(PID_FILE, { force: true });
    say('not running (no registry started by this script)');
    return;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
  rmSync(PID_FILE, { force: true });
  say(`stopped docker-registry (pid ${pid}); its data stays in ${DATA_DIR}`);
}

/** Exit status 0 when the mirror answers, 1 when it does not. */
async function status(): Promise<number> {
  if ((await ping()) !== 200) {
    say(`nothing answers on ${HOST}:${port()}`);
    return 1;
  }
  const pid = ourRegistryPid();
  say(`registry answers on ${HOST}:${port()}${pid ? ` (pid ${pid})` : ' (not started by this script)'}`);
  for (const name of SEEDED) {
    const { repo, tags } = FIXTURE_REFS[name];
    for (const tag of tags) say(`  ${repo}:${tag} ${(await hasManifest(repo, tag)) ? 'present' : 'missing'}`);
  }
  return 0;
}

async function main(): Promise<number> {
  switch (process.argv[2]) {
    case 'start':
      await start();
      return 0;
    case 'stop':
      await stop();
      return 0;
    case 'status':
      return status();
    default:
      console.error('usage: node dist/scripts/mirror.js start|stop|status');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`mirror: error: ${e instanceof MirrorError ? e.message : (e as Error).stack}`);
    process.exit(1);
  },
);
