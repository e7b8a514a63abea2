/**
 * Looking at a test store from the outside: its validated state, a snapshot to compare before
 * and after a failed command, and commands run inside its user namespace (where layer files
 * have their container owners and can all be read).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { ImageStore, type StoreState } from '../../src/store/image-store.js';
import { resolvePaths } from '../../src/store/paths.js';
import { joinUserNamespace, type IdMapping, type NamespaceContext } from '../../src/namespaces/userns.js';
import type { RunResult, TestStore } from './cli.js';

export function assertOk(r: RunResult, what: string): void {
  assert.is(r.code, 0, `${what} failed (exit ${r.code}): ${r.stderr}`);
}

/**
 * Exit `code` and exactly one "Error: ..." line, matching `re` and last on stderr (progress lines
 * may come before it); nothing on stdout.
 */
export function assertOneError(r: RunResult, re: RegExp, code = 125): void {
  assert.is(r.code, code, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const errors = lines.filter((l) => l.startsWith('Error: '));
  assert.is(errors.length, 1, `one error line on stderr, got:\n${r.stderr}`);
  assert.is(lines.at(-1), errors[0]);
  assert.match(errors[0]!, re);
  assert.is(r.stdout, '');
}

/** The store's images.json, validated by the store's own schema (throws when damaged). */
export function readState(store: TestStore): StoreState {
  return ImageStore.open(resolvePaths({ root: store.root, runroot: store.runroot })).read();
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export interface StoreSnapshot {
  imagesJson: string;
  layers: string[];
  blobs: string[];
  tmp: string[];
  /** proper-lockfile's lock directory: present only while a command holds the store lock */
  locked: boolean;
}

export function snapshot(store: TestStore): StoreSnapshot {
  const file = path.join(store.root, 'images.json');
  return {
    imagesJson: existsSync(file) ? readFileSync(file, 'utf8') : '',
    layers: list(path.join(store.root, 'layers')),
    blobs: list(path.join(store.root, 'blobs', 'sha256')),
    tmp: list(path.join(store.root, 'tmp')),
    locked: existsSync(path.join(store.root, 'store.lock.lock')),
  };
}

export function namespaceOf(store: TestStore): Promise<NamespaceContext> {
  return joinUserNamespace({ runroot: store.runroot });
}

/** Container id -> host id through a namespace's mappings (identity as root). */
export function hostId(mappings: IdMapping[], id: number): number {
  const m = mappings.find((x) => id >= x.containerID && id < x.containerID + x.size);
  if (!m) throw new Error(`id ${id} is not mapped`);
  return m.hostID + (id - m.containerID);
}

/** Runs argv inside the store's namespace (as root: as is); resolves with stdout, rejects with stderr. */
export async function nsExec(ns: NamespaceContext, argv: string[]): Promise<string> {
  const full = ns.wrap(argv);
  return new Promise((resolve, reject) => {
    const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${argv.join(' ')}: exit ${code}: ${stderr}`))));
  });
}

const VIEW_MODULE = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../fixtures/view.js');
const CHECK_SCRIPT = 'const { checkView } = await import(process.argv[1]); console.log(JSON.stringify(await checkView(process.argv[2])));';

/**
 * Mounts the read-only overlay of `layerDirs` (base first, as images.json lists them) inside the
 * namespace, with `userxattr` as tspod mounts it, and runs checkView on it there (as the
 * namespace's root, which sees container owners and may read every file); returns the problems.
 */
export async function mergedViewProblems(store: TestStore, layerDirs: string[]): Promise<string[]> {
  const ns = await namespaceOf(store);
  const merged = mkdtempSync(path.join(path.dirname(store.root), 'merged-'));
  const lowerdir = [...layerDirs].reverse().join(':');
  try {
    await nsExec(ns, ['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerdir},userxattr`, merged]);
    try {
      return JSON.parse(await nsExec(ns, [process.execPath, '--input-type=module', '-e', CHECK_SCRIPT, VIEW_MODULE, merged])) as string[];
    } finally {
      await nsExec(ns, ['umount', merged]);
    }
  } finally {
    rmdirSync(merged);
  }
}
