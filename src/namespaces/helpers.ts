/** Small things shared by the code that spawns namespace helpers. */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Directories searched after $PATH: helpers live in sbin or libexec, often not on a user's PATH. */
const HELPER_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/libexec/podman'];

/** The absolute path of executable `name`, or undefined when it is nowhere to be found. */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => path.isAbsolute(d)), ...HELPER_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here (or not searchable by this user): keep looking
    }
  }
  return undefined;
}

/** A helper's stderr squeezed into one short line for an error message. */
export function oneLine(stderr: string, max = 300): string {
  const line = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join('; ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A PATH for helpers that does not depend on the caller's (possibly unreadable) directories. */
export const HELPER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
