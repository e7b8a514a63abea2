/**
 * slirp4netns against pasta, each started the way tspod starts it (attachNetwork with the helper
 * forced), in a fresh network namespace per round: setup time, TCP throughput both ways and
 * latency between that namespace and a server on the host's 127.0.0.1, reached through the
 * gateway. A last row runs the same client on the host's loopback directly, for scale.
 * Prints one JSON object (medians over the rounds) on stdout; scripts/bench/network drives it.
 *
 *   node dist/scripts/bench/lib/network.js [--rounds N] [--mib N]
 *   node dist/scripts/bench/lib/network.js client HOST PORT MIB     (what runs in the namespace)
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { attachNetwork, detachNetwork, type NetworkHelper } from '../../../src/namespaces/network.js';
import { joinUserNamespace, stopUserNamespace } from '../../../src/namespaces/userns.js';

const SELF = fileURLToPath(import.meta.url);
const MIB = 1024 * 1024;
const CONNECTS = 100;
const ROUND_TRIPS = 2000;

interface ClientResult {
  /** TCP connect, median ms */
  connectMs: number;
  /** 1-byte request/response on one connection, median µs */
  rttUs: number;
  /** container to host, MiB/s */
  uploadMiBs: number;
  /** host to container, MiB/s */
  downloadMiBs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The host side. A connection's first line says what it wants: "U n" (it sends n bytes, we
 * answer "K" after the last), "D n" (we send n bytes and close), "P" (echo every byte), "C"
 * (nothing: it only measures connecting).
 */
function startServer(): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let header = '';
    const onHeader = (chunk: Buffer) => {
      header += chunk.toString('latin1');
      const eol = header.indexOf('\n');
      if (eol < 0) return;
      socket.off('data', onHeader);
      const [kind, size] = header.slice(0, eol).split(' ');
      const rest = Buffer.from(header.slice(eol + 1), 'latin1');
      if (kind === 'U') {
        let left = Number(size) - rest.length;
        const count = (c: Buffer) => {
          left -= c.length;
          if (left <= 0) socket.end('K');
        };
        socket.on('data', count);
        if (left <= 0) socket.end('K');
      } else if (kind === 'D') {
        sendZeros(socket, Number(size));
      } else if (kind === 'P') {
        if (rest.length) socket.write(rest);
        socket.on('data', (c) => socket.write(c));
      } else {
        socket.end();
      }
    };
    socket.on('data', onHeader);
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function sendZeros(socket: net.Socket, total: number): void {
  const chunk = Buffer.alloc(MIB);
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void socket.once('drain', pump);
    }
    socket.end();
  };
  pump();
}

/** Resolves with `event`'s first argument; rejects if the socket closes or fails first. */
function next<T>(socket: net.Socket, event: string, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    socket.once(event, resolve);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`${what}: the connection closed early`)));
  });
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

async function measureConnect(host: string, port: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < CONNECTS; i++) {
    const start = performance.now();
    const socket = await connect(host, port);
    times.push(performance.now() - start);
    socket.end('C\n');
    await new Promise((resolve) => socket.once('close', resolve));
  }
  return median(times);
}

/** One byte at a time over one connection, each echoed before the next goes out. */
async function measureRoundTrips(host: string, port: number): Promise<number> {
  const socket = await connect(host, port);
  const times: number[] = [];
  await new Promise<void>((resolve, reject) => {
    let start = 0;
    const closedEarly = () => reject(new Error('round trip: the connection closed early'));
    const send = () => {
      start = performance.now();
      socket.write('x');
    };
    socket.on('error', reject);
    socket.on('close', closedEarly);
    socket.on('data', () => {
      times.push((performance.now() - start) * 1000);
      if (times.length < ROUND_TRIPS) return send();
      socket.off('close', closedEarly);
      socket.destroy();
      resolve();
    });
    socket.write('P\n');
    send();
  });
  return median(times);
}

async function measureUpload(host: string, port: number, bytes: number): Promise<number> {
  const start = performance.now();
  const socket = await connect(host, port);
  const done = next(socket, 'data', 'upload');
  socket.write(`U ${bytes}\n`);
  sendZeros(socket, bytes);
  await done;
  socket.destroy();
  return bytes / MIB / ((performance.now() - start) / 1000);
}

async function measureDownload(host: string, port: number, bytes: number): Promise<number> {
  const start = performance.now();
  const socket = await connect(host, port);
  socket.write(`D ${bytes}\n`);
  let received = 0;
  socket.on('data', (c: Buffer) => (received += c.length));
  await new Promise((resolve, reject) => {
    socket.once('close', resolve);
    socket.once('error', reject);
  });
  if (received !== bytes) throw new Error(`download: got ${received} of ${bytes} bytes`);
  return bytes / MIB / ((performance.now() - start) / 1000);
}

async function client(host: string, port: number, mib: number): Promise<ClientResult> {
  return {
    connectMs: await measureConnect(host, port),
    rttUs: await measureRoundTrips(host, port),
    uploadMiBs: await measureUpload(host, port, mib * MIB),
    downloadMiBs: await measureDownload(host, port, mib * MIB),
  };
}

const execFileAsync = promisify(execFile);

async function runClient(prefix: string[], host: string, port: number, mib: number): Promise<ClientResult> {
  const argv = [...prefix, process.execPath, SELF, 'client', host, String(port), String(mib)];
  const { stdout } = await execFileAsync(argv[0], argv.slice(1), { maxBuffer: MIB });
  return JSON.parse(stdout) as ClientResult;
}

interface Row extends ClientResult {
  name: string;
  /** attachNetwork, median ms */
  setupMs?: number;
  /** rounds whose client failed (not in the medians), with the first failure */
  failed: number;
  firstFailure?: string;
}

interface Samples {
  setups: number[];
  results: ClientResult[];
  failures: string[];
}

function summarize(name: string, { setups, results, failures }: Samples): Row {
  const pick = (k: keyof ClientResult) => (results.length ? median(results.map((r) => r[k])) : NaN);
  return {
    name,
    ...(setups.length ? { setupMs: median(setups) } : {}),
    failed: failures.length,
    ...(failures.length ? { firstFailure: failures[0] } : {}),
    connectMs: pick('connectMs'),
    rttUs: pick('rttUs'),
    uploadMiBs: pick('uploadMiBs'),
    downloadMiBs: pick('downloadMiBs'),
  };
}

async function bench(rounds: number, mib: number): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tspod-netbench-'));
  const runroot = path.join(tmp, 'run');
  const ns = await joinUserNamespace({ runroot });
  const server = await startServer();
  const port = (server.address() as net.AddressInfo).port;
  const helpers: NetworkHelper[] = ['slirp4netns', 'pasta'];
  const samples = new Map<NetworkHelper, Samples>(helpers.map((h) => [h, { setups: [], results: [], failures: [] }]));
  try {
    for (let round = 0; round < rounds; round++) {
      // Alternate which helper goes first, so that neither always meets a warmer machine.
      for (const helper of round % 2 ? [...helpers].reverse() : helpers) {
        const holder = ns.wrap(['unshare', '--net', '--', 'sleep', 'infinity']);
        const netns = spawn(holder[0], holder.slice(1), { stdio: 'ignore' });
        await new Promise((resolve) => setTimeout(resolve, 100));
        const runDir = path.join(tmp, `${helper}-${round}`);
        const start = performance.now();
        const handle = await attachNetwork(ns, netns.pid!, { mode: 'private', runDir, helper });
        const setup = performance.now() - start;
        const enter = ns.wrap(['nsenter', `--net=/proc/${netns.pid}/ns/net`, '--']);
        const sample = samples.get(helper)!;
        sample.setups.push(setup);
        try {
          const result = await runClient(enter, handle.gateway, port, mib);
          sample.results.push(result);
          process.stderr.write(`round ${round + 1}/${rounds} ${helper}: setup ${setup.toFixed(0)} ms, ${JSON.stringify(result)}\n`);
        } catch (e) {
          const why = String((e as { stderr?: string }).stderr || (e as Error).message).trim().split('\n').pop()!;
          sample.failures.push(why);
          process.stderr.write(`round ${round + 1}/${rounds} ${helper}: setup ${setup.toFixed(0)} ms, client failed: ${why}\n`);
        } finally {
          await detachNetwork(handle);
          netns.kill('SIGKILL');
        }
      }
    }
    const direct: Samples = { setups: [], results: [], failures: [] };
    for (let round = 0; round < rounds; round++) direct.results.push(await runClient([], '127.0.0.1', port, mib));
    const rows = [...helpers.map((h) => summarize(h, samples.get(h)!)), summarize('host loopback, no namespace', direct)];
    process.stdout.write(`${JSON.stringify({ rounds, mib, rootless: ns.rootless, rows })}\n`);
  } finally {
    server.close();
    await stopUserNamespace({ runroot });
    rmSync(tmp, { recursive: true, force: true });
  }
}

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs a positive integer`);
  return value;
}

const args = process.argv.slice(2);
if (args[0] === 'client') {
  try {
    process.stdout.write(JSON.stringify(await client(args[1], Number(args[2]), Number(args[3]))));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  }
} else {
  await bench(option(args, '--rounds', 5), option(args, '--mib', 64));
}
