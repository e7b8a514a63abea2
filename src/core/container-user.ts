/**
 * The user a container process runs as: -u / the image's USER resolved against the container's own
 * /etc/passwd and /etc/group, with runc's lookup rules and Podman's choice of supplementary groups.
 */
import { TspodError } from './errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
  /** the passwd entry's name, when the user has one */
  name?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;

/**
 * spec: '' or undefined (root), 'name', 'uid', 'name:group', 'uid:gid', ':group', 'name:'.
 * A numeric user need not exist in passwd (its group is then 0 and its home /); a name must.
 * Supplementary groups: those listing the user in /etc/group, only when no group was given; an
 * explicitly given user also gets its primary group in the list (what Podman does).
 */
export function resolveUser(spec: string | undefined, passwd: string, group: string): ResolvedUser {
  const colon = (spec ?? '').indexOf(':');
  const userArg = colon < 0 ? (spec ?? '') : spec!.slice(0, colon);
  const groupArg = colon < 0 ? undefined : spec!.slice(colon + 1);
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);

  const numericUid = parseId(userArg);
  const entry =
    userArg === ''
      ? users.find((u) => u.uid === 0)
      : numericUid !== undefined
        ? users.find((u) => u.uid === numericUid)
        : users.find((u) => u.name === userArg);
  if (!entry && userArg !== '' && numericUid === undefined) {
    throw new TspodError(`unable to find user ${userArg}: no matching entries in passwd file`);
  }
  const uid = entry?.uid ?? numericUid ?? 0;
  let gid = entry?.gid ?? 0;

  if (groupArg) {
    const numericGid = parseId(groupArg);
    const found = numericGid !== undefined ? groups.find((g) => g.gid === numericGid) : groups.find((g) => g.name === groupArg);
    if (!found && numericGid === undefined) {
      throw new TspodError(`unable to find group ${groupArg}: no matching entries in group file`);
    }
    gid = found?.gid ?? numericGid!;
  }

  const memberships = groupArg === undefined && entry ? groups.filter((g) => g.members.includes(entry.name)).map((g) => g.gid) : [];
  const explicit = userArg !== '' || groupArg !== undefined;
  const additionalGids = [...new Set(explicit ? [gid, ...memberships] : memberships)];
  return { uid, gid, additionalGids, home: entry?.home || '/', ...(entry ? { name: entry.name } : {}) };
}

/** A decimal uid/gid, undefined if `text` is not a number; out-of-range numbers are an error. */
function parseId(text: string): number | undefined {
  if (!/^-?\d+$/.test(text)) return undefined;
  const id = Number(text);
  if (id < 0 || id > MAX_ID) throw new TspodError(`invalid user or group id ${text}`, `uids and gids must be in range 0-${MAX_ID}`);
  return id;
}

function records(text: string): string[][] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

function parsePasswd(text: string): PasswdEntry[] {
  return records(text)
    .filter((f) => f.length >= 4 && parseIdQuietly(f[2]) !== undefined && parseIdQuietly(f[3]) !== undefined)
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' }));
}

function parseGroup(text: string): GroupEntry[] {
  return records(text)
    .filter((f) => f.length >= 3 && parseIdQuietly(f[2]) !== undefined)
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter((m) => m !== '') }));
}

/** A malformed id in a passwd or group line makes that line unusable, not the whole file. */
function parseIdQuietly(text: string): number | undefined {
  return /^\d+$/.test(text) && Number(text) <= MAX_ID ? Number(text) : undefined;
}
