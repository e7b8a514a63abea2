/**
 * Runs things as the unprivileged test user (TSPOD_TEST_USER or "tspodci", with subordinate id
 * ranges like CI's), so that a test run as root also covers the rootless path.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEST_USER = process.env.TSPOD_TEST_USER ?? 'tspodci';
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SUBID_RANGE = '200000:65536';

export const isRoot = (): boolean => process.geteuid!() === 0;

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function lookUp(name: string): TestUser | undefined {
  try {
    const [, , uid, gid, , home] = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
    return { name, uid: Number(uid), gid: Number(gid), home };
  } catch {
    return undefined;
  }
}

/** As root: the test user, created like CI does (with subuid/subgid ranges) when it is missing. */
export function ensureTestUser(): TestUser {
  if (!lookUp(TEST_USER)) execFileSync('useradd', ['--create-home', TEST_USER], { stdio: 'ignore' });
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // created below
    }
    if (!text.split('\n').some((line) => line.startsWith(`${TEST_USER}:`))) {
      appendFileSync(file, `${text === '' || text.endsWith('\n') ? '' : '\n'}${TEST_USER}:${SUBID_RANGE}\n`);
    }
  }
  return lookUp(TEST_USER)!;
}

export interface UserRun {
  code: number | null;
  /** stdout and stderr, interleaved as far as pipes allow */
  output: string;
}

/** As root: runs `node ...args` as the test user in the repository, with a clean environment. */
export function runNodeAsTestUser(args: string[], env: Record<string, string> = {}): UserRun {
  const user = ensureTestUser();
  const cleanEnv = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: user.home,
    USER: user.name,
    LANG: 'C.UTF-8',
    ...env,
  };
  const result = spawnSync(
    'setpriv',
    [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--', process.execPath, ...args],
    { cwd: REPO, env: cleanEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

/** As root: runs the compiled test file dist/test/<name>.test.js under uvu as the test user. */
export function runTestFileAsTestUser(name: string): UserRun {
  return runNodeAsTestUser([path.join(REPO, 'node_modules/uvu/bin.js'), 'dist/test', `^${name}\\.test\\.js$`, '--color=false']);
}
