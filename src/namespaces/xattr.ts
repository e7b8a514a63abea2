/**
 * Reading the overlay's opaque-directory marker (xattr user.overlay.opaque=y, as tspod mounts with
 * `userxattr`). Node has no xattr API; GNU tar reads them, and archiving just the directories
 * (no contents) costs one small tar.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { TspodError } from '../core/errors.js';
import { HELPER_PATH, oneLine } from './helpers.js';
import type { NamespaceContext } from './userns.js';

const OPAQUE_KEY = 'SCHILY.xattr.user.overlay.opaque';

/** Which of `dirs` (relative to `upper`) are opaque. Runs tar inside the namespace. */
export async function opaqueDirectories(ns: NamespaceContext, upper: string, dirs: string[]): Promise<Set<string>> {
  const opaque = new Set<string>();
  if (dirs.length === 0) return opaque;
  const argv = ns.wrap(['tar', '--create', '--file=-', '--no-recursion', '--xattrs', `--xattrs-include=user.overlay.opaque`, `--directory=${upper}`, '--null', '--files-from=-']);
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: HELPER_PATH, LC_ALL: 'C' } });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  child.stdin.end(dirs.map((d) => `${d}\0`).join(''));
  const extract = tar.extract();
  (child.stdout as Readable).pipe(extract);
  for await (const entry of extract) {
    if ((entry.header.pax as Record<string, string> | undefined)?.[OPAQUE_KEY] === 'y') opaque.add(entry.header.name.replace(/\/+$/, ''));
    entry.resume();
  }
  const code = await exited;
  if (code !== 0) throw new TspodError(`cannot read the container's changes (tar: ${oneLine(stderr) || `exit status ${code}`})`);
  return opaque;
}
