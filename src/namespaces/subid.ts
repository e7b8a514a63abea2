/**
 * Subordinate id ranges (/etc/subuid, /etc/subgid) of the current user: the host ids a rootless
 * user namespace maps container ids 1..N onto.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { TspodError } from '../core/errors.js';

export interface SubIdRange {
  start: number;
  count: number;
}

export type SubIdKind = 'uid' | 'gid';

export interface SubIdUser {
  name?: string;
  uid: number;
}

/** Test hook: TSPOD_SUBUID_FILE / TSPOD_SUBGID_FILE replace /etc/subuid / /etc/subgid. */
export function subIdFile(kind: SubIdKind): string {
  const override = kind === 'uid' ? process.env.TSPOD_SUBUID_FILE : process.env.TSPOD_SUBGID_FILE;
  return override || `/etc/sub${kind}`;
}

/**
 * The ranges in a subuid/subgid file that belong to `user`, in file order. Entries name the user
 * either by login name or by numeric uid (both are honoured by newuidmap); malformed lines and
 * empty ranges are ignored.
 */
export function parseSubIdFile(text: string, user: SubIdUser): SubIdRange[] {
  const ranges: SubIdRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    if (fields.length !== 3) continue;
    const [owner, startText, countText] = fields;
    if (owner !== user.name && owner !== String(user.uid)) continue;
    if (!/^\d+$/.test(startText) || !/^\d+$/.test(countText)) continue;
    const start = Number(startText);
    const count = Number(countText);
    if (count > 0 && start + count <= 2 ** 32) ranges.push({ start, count });
  }
  return ranges;
}

export function currentUser(): SubIdUser {
  const uid = process.geteuid!();
  try {
    return { name: os.userInfo().username, uid };
  } catch {
    // No passwd entry for this uid: only numeric subid entries can match.
    return { uid };
  }
}

/** The current user's ranges of `kind`; a TspodError saying how to add one when there is none. */
export async function subIdRanges(kind: SubIdKind, user: SubIdUser = currentUser()): Promise<SubIdRange[]> {
  const file = subIdFile(kind);
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new TspodError(`cannot read ${file} (${code ?? String(e)})`, 'it must be readable by every user (mode 0644)');
  }
  const ranges = parseSubIdFile(text, user);
  if (ranges.length > 0) return ranges;
  const who = user.name ?? String(user.uid);
  throw new TspodError(
    `no sub${kind} range for user "${who}" in ${file}`,
    `add one, e.g. as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${who}`,
  );
}
