/**
 * Layer extraction, measuring and removal inside the user namespace: only there can files get
 * container owners (which are subordinate ids on the host), and only there can they be read and
 * removed again.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { TspodError } from '../core/errors.js';
import { spawnTar } from './archive.js';
import { HELPER_PATH, oneLine } from './helpers.js';
import type { NamespaceContext } from './userns.js';

const execFileAsync = promisify(execFile);

/**
 * GNU tar flags for extracting a sanitized layer:
 * --numeric-owner      owners are the tar's numbers, never looked up in the host's /etc/passwd;
 * --same-owner         chown every entry (as root in the namespace, that is allowed);
 * --same-permissions   modes exactly as in the tar (setuid/setgid/sticky included, no umask);
 * --xattrs --xattrs-include=*   restore every xattr the sanitizer let through (by default tar
 *                      would restore only user.*, losing security.capability);
 * --delay-directory-restore     set directory modes/mtimes at the very end, so a read-only
 *                      directory listed before its contents does not block them.
 * Not -P/--absolute-names: tar keeps its own guards (no leading /, no .., delayed creation of
 * symlinks pointing outside) behind the sanitizer's. Not --overwrite: an existing file is unlinked
 * and re-created rather than opened, so a symlink in its place is never followed.
 */
export const TAR_EXTRACT_FLAGS = [
  '--extract',
  '--file=-',
  '--numeric-owner',
  '--same-owner',
  '--same-permissions',
  '--xattrs',
  '--xattrs-include=*',
  '--delay-directory-restore',
];

/**
 * Extracts `input` (an uncompressed tar that went through sanitizeLayer) into `destDir`, which must
 * exist, as root of the namespace. On failure the caller owns the partial `destDir` (removeTree).
 */
export async function extractLayer(ns: NamespaceContext, input: Readable, destDir: string): Promise<void> {
  const { tar, exited, stderr } = spawnTar(ns, [...TAR_EXTRACT_FLAGS, `--directory=${path.resolve(destDir)}`], 'reads');
  let inputError: unknown;
  try {
    await pipeline(input, tar.stdin!);
  } catch (e) {
    inputError = e;
    // The sanitizer rejected an entry (or tar died): stop tar before the caller cleans up.
    tar.kill('SIGKILL');
  }
  const status = await exited;
  // A rejected entry explains more than tar's reaction to the cut-off stream; tar's own failure
  // explains more than the EPIPE it caused; anything else from the input (e.g. a digest mismatch
  // found at its end) fails the extraction even when tar was content.
  if (inputError instanceof TspodError) throw inputError;
  if (typeof status === 'number' && status !== 0) throw tarFailure(destDir, stderr(), status);
  if (inputError) throw inputError;
  if (status !== 0) throw tarFailure(destDir, stderr(), status);
}

function tarFailure(destDir: string, stderr: string, status: number | string): TspodError {
  const hint = /Cannot change ownership/.test(stderr)
    ? 'the layer uses uids/gids outside the subordinate ranges of this user: give it larger ranges in /etc/subuid and /etc/subgid'
    : undefined;
  const detail = oneLine(stderr.replace(/^tar: /gm, '')) || `exit status ${status}`;
  return new TspodError(`extracting a layer into ${destDir} failed (tar: ${detail})`, hint);
}

/** rm -rf inside the namespace: files owned by subordinate ids cannot be removed outside it. */
export async function removeTree(ns: NamespaceContext, dir: string): Promise<void> {
  const target = path.resolve(dir);
  if (target === '/') throw new Error('refusing to remove /');
  const argv = ns.wrap(['rm', '-rf', '--one-file-system', '--', target]);
  await new Promise<void>((resolve, reject) => {
    const rm = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: HELPER_PATH, LC_ALL: 'C' } });
    let stderr = '';
    rm.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    rm.once('error', reject);
    rm.once('close', (code) =>
      code === 0 ? resolve() : reject(new TspodError(`cannot remove ${target} (${oneLine(stderr) || `rm exit status ${code}`})`)),
    );
  });
}

/**
 * Bytes of the files under `dir`: each hard-linked file once and directories not at all (Docker's
 * and Podman's SizeRw of a container's upper dir); 0 when the tree cannot be read.
 */
export async function treeFileBytes(ns: NamespaceContext, dir: string): Promise<number> {
  const [cmd, ...args] = ns.wrap(['find', dir, '!', '-type', 'd', '-printf', '%i %s\\n']);
  try {
    const { stdout } = await execFileAsync(cmd, args, { env: { PATH: HELPER_PATH }, maxBuffer: 64 * 1024 * 1024 });
    const sizes = new Map<string, number>();
    for (const line of stdout.split('\n')) {
      const [inode, size] = line.split(' ');
      if (size !== undefined) sizes.set(inode, Number(size));
    }
    return [...sizes.values()].reduce((a, b) => a + b, 0);
  } catch {
    return 0;
  }
}
