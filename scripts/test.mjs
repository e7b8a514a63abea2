#!/usr/bin/env node
/**
 * Runs the whole test suite (uvu over dist/test) and ends with "N passed, N failed".
 * As root it runs the suite twice: as root (systemd system units' path) and as the unprivileged
 * test user (the rootless path), TSPOD_TEST_USER or "tspodci", when that user exists.
 * Usage: node scripts/test.mjs [PATTERN]   (PATTERN: a regexp on test file names)
 */
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pattern = process.argv[2] ?? '\\.test\\.js$';
const testUser = process.env.TSPOD_TEST_USER ?? 'tspodci';

function userExists(name) {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs uvu, echoing its output, and returns its totals. */
function runSuite(label, prefix, env) {
  return new Promise((resolve) => {
    console.log(`\n=== test suite as ${label} ===`);
    const argv = [...prefix, process.execPath, path.join(repo, 'node_modules/uvu/bin.js'), 'dist/test', pattern, '--color=false'];
    const child = spawn(argv[0], argv.slice(1), { cwd: repo, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('close', (code) => {
      const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
      // uvu's Total counts the tests that ran (skipped ones apart). A crash before its summary
      // counts as one failure, never as a pass.
      const failed = total - passed || (code !== 0 ? 1 : 0);
      resolve({ passed, failed, skipped });
    });
  });
}

const runs = [runSuite(process.getuid() === 0 ? 'root' : `uid ${process.getuid()}`, [], process.env)];
const totals = [await runs[0]];
if (process.getuid() === 0 && userExists(testUser)) {
  const home = execFileSync('getent', ['passwd', testUser]).toString().split(':')[5];
  const env = { PATH: process.env.PATH, HOME: home, USER: testUser, LANG: 'C.UTF-8', CI: process.env.CI ?? '' };
  totals.push(await runSuite(`${testUser} (rootless)`, ['runuser', '-u', testUser, '--', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)], env));
}
const sum = (k) => totals.reduce((n, t) => n + t[k], 0);
console.log(`\n${sum('passed')} passed, ${sum('failed')} failed${sum('skipped') ? `, ${sum('skipped')} skipped` : ''}`);
process.exitCode = sum('failed') > 0 ? 1 : 0;
