/** For tests of commands that read or write tar streams: tspod with binary stdio, tar in memory. */
import { spawn } from 'node:child_process';
import tar from 'tar-stream';
import { BIN, type TestStore } from './cli.js';

export interface RawResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** The store's tspod with `input` as stdin (empty when not given), stdout kept as bytes. */
export function tspodRaw(store: TestStore, args: string[], input?: Buffer): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--', BIN, '--root', store.root, '--runroot', store.runroot, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

export type TarMember = tar.Header & { content: string };

/** A tar's entries by name, with their contents as text. */
export async function readTar(data: Buffer): Promise<Map<string, TarMember>> {
  const extract = tar.extract();
  const found = new Map<string, TarMember>();
  const done = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      found.set(entry.header.name, { ...entry.header, content: Buffer.concat(chunks).toString() });
    }
  })();
  extract.end(data);
  await done;
  return found;
}
