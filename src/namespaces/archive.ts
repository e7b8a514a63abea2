/**
 * GNU tar inside the user namespace (the process extraction uses too), and a directory as a tar
 * stream made there: rootless, a container's files belong to subordinate ids and may be
 * unreadable to the user outside it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { TspodError } from '../core/errors.js';
import { HELPER_PATH, oneLine } from './helpers.js';
import type { NamespaceContext } from './userns.js';

/**
 * GNU tar flags for an archive that keeps everything a layer needs:
 * --numeric-owner      owners as numbers, never names from the host's /etc/passwd;
 * --xattrs --xattrs-include=*   every xattr (overlay's opaque markers, capabilities, ACLs), which
 *                      makes the archive pax;
 * --pax-option=delete=atime,delete=ctime   no access/change times: they differ on every read;
 * --sort=name          the same tree gives the same bytes.
 * Hardlinks within the directory are stored as links, devices and fifos as such; sockets are skipped.
 */
const TAR_CREATE_FLAGS = ['--create', '--file=-', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--pax-option=delete=atime,delete=ctime', '--sort=name'];

export interface TarProcess {
  /** its stdin (reads) or stdout (writes) is a pipe */
  tar: ChildProcess;
  /** exit code, or the signal that killed it */
  exited: Promise<number | string>;
  /** the first 64 KiB of its stderr */
  stderr(): string;
}

/** GNU tar with `args` inside the namespace; stdin or stdout is a pipe, as `stdio` says. */
export function spawnTar(ns: NamespaceContext, args: string[], stdio: 'reads' | 'writes'): TarProcess {
  const argv = ns.wrap(['tar', ...args]);
  const tar = spawn(argv[0], argv.slice(1), {
    stdio: stdio === 'reads' ? ['pipe', 'ignore', 'pipe'] : ['ignore', 'pipe', 'pipe'],
    env: { PATH: HELPER_PATH, LC_ALL: 'C' },
  });
  let stderr = '';
  tar.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 64 * 1024) stderr += d;
  });
  const exited = new Promise<number | string>((resolve, reject) => {
    tar.once('error', reject);
    tar.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return { tar, exited, stderr: () => stderr };
}

/**
 * The tar of `dir`'s contents (names relative to it, "./" first). The stream fails if tar fails;
 * destroying it stops tar.
 */
export function tarDirectory(ns: NamespaceContext, dir: string): Readable {
  const { tar, exited, stderr } = spawnTar(ns, [...TAR_CREATE_FLAGS, `--directory=${path.resolve(dir)}`, '.'], 'writes');
  exited.catch(() => undefined); // awaited below, unless the reader stops early
  async function* output(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of tar.stdout!) yield chunk as Buffer;
      const status = await exited;
      // 1: "file changed as we read it", which a running container may cause; the archive is whole.
      if (status !== 0 && status !== 1) throw new TspodError(`archiving ${dir} failed (tar: ${oneLine(stderr().replace(/^tar: /gm, '')) || `exit status ${status}`})`);
    } finally {
      if (tar.exitCode === null) tar.kill('SIGKILL');
    }
  }
  return Readable.from(output(), { objectMode: false });
}
