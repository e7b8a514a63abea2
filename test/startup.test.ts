/**
 * The built CLI's structure (scripts/build.mjs, bin/tspod): every command under src/commands is
 * in the manifest and in the bundle and answers --help; a run evaluates the modules of its own
 * command only; the code cache is used, and ignored when it belongs to another bundle. No
 * timings: scripts/bench/startup.sh measures them.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO, 'bin', 'tspod');
const PACKAGE_VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'tspod-startup-test-'));

interface ManifestCommand {
  aliases: string[];
}
const manifest = JSON.parse(readFileSync(path.join(REPO, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, ManifestCommand> };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function tspod(args: string[], env: NodeJS.ProcessEnv = process.env, bin = BIN): Run {
  const result = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a CommonJS snippet with `tspod` = bin/tspod's loadBundle() result; returns its JSON output. */
function withBundle<T>(snippet: string, bin = BIN): T {
  const result = spawnSync(process.execPath, ['-e', `const tspod = require(${JSON.stringify(bin)}).loadBundle();\n${snippet}`], { encoding: 'utf8' });
  assert.is(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

/** Command ids from tsc's output tree, named as oclif names them (system/check.js: system:check). */
function compiledCommandIds(dir = path.join(REPO, 'dist', 'src', 'commands'), prefix: string[] = []): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return compiledCommandIds(path.join(dir, entry.name), [...prefix, entry.name]);
    if (!entry.name.endsWith('.js')) return [];
    const name = entry.name.slice(0, -'.js'.length);
    return [[...prefix, ...(name === 'index' ? [] : [name])].join(':')];
  });
}

/** The command modules (src/commands/...) a run of tspod evaluated, from V8's coverage. */
function commandModulesEvaluated(args: string[]): string[] {
  const coverageDir = mkdtempSync(path.join(scratch, 'coverage-'));
  const run = tspod(args, { ...process.env, NODE_V8_COVERAGE: coverageDir });
  assert.is(run.code, 0, run.stderr);
  const evaluated = new Set<string>();
  let seen = 0;
  for (const file of readdirSync(coverageDir)) {
    const coverage = JSON.parse(readFileSync(path.join(coverageDir, file), 'utf8')) as {
      result: { url: string; functions: { functionName: string; ranges: { count: number }[] }[] }[];
    };
    for (const script of coverage.result.filter((s) => s.url.endsWith('/dist/bundle/tspod.cjs'))) {
      // esbuild wraps each lazily evaluated module in a function named after its path.
      for (const fn of script.functions.filter((f) => /^src\/commands\/.+\.ts$/.test(f.functionName))) {
        seen++;
        if (fn.ranges[0].count > 0) evaluated.add(fn.functionName);
      }
    }
  }
  assert.ok(seen > 0, 'no command module found in the coverage of dist/bundle/tspod.cjs');
  return [...evaluated].sort();
}

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test('every command under src/commands is in the manifest and in the bundle', () => {
  const compiled = compiledCommandIds().sort();
  assert.ok(compiled.includes('version'));
  assert.equal(Object.keys(manifest.commands).sort(), compiled);
  assert.equal(withBundle<string[]>('console.log(JSON.stringify(Object.keys(tspod.cli.COMMANDS)))').sort(), compiled);
});

test('every command class loads from the bundle, with the aliases the manifest lists', () => {
  const classes = withBundle<Record<string, { run: boolean; aliases: string[]; description: string }>>(`
    const out = {};
    for (const [id, C] of Object.entries(tspod.cli.COMMANDS)) {
      out[id] = { run: typeof C.run === 'function', aliases: C.aliases ?? [], description: C.description ?? '' };
    }
    console.log(JSON.stringify(out));
  `);
  for (const [id, entry] of Object.entries(manifest.commands)) {
    assert.ok(classes[id].run, `${id}: no command class`);
    assert.not.match(classes[id].description, /^not available: /, `${id}: ${classes[id].description}`);
    assert.equal(classes[id].aliases.map((a) => a.replaceAll(' ', ':')), entry.aliases, id);
  }
});

test('tspod <command> --help answers for every command and alias', () => {
  // One process for all (a spawn each would cost seconds on a busy machine): main() as bin/tspod calls it.
  const ids = Object.entries(manifest.commands).flatMap(([id, c]) => [id, ...c.aliases]);
  const helps = withBundle<Record<string, { exitCode: number; usage: boolean }>>(`
    (async () => {
      const out = {};
      const write = process.stdout.write.bind(process.stdout);
      for (const id of ${JSON.stringify(ids)}) {
        let text = '';
        process.stdout.write = (chunk, ...rest) => ((text += chunk), true);
        await tspod.cli.main([...id.split(':'), '--help']);
        process.stdout.write = write;
        out[id] = { exitCode: process.exitCode ?? 0, usage: text.includes('USAGE') && text.includes('$ tspod ' + id.split(':').join(' ')) };
      }
      console.log(JSON.stringify(out));
    })();
  `);
  for (const id of ids) assert.equal(helps[id], { exitCode: 0, usage: true }, id);
  // and through bin/tspod, for a topic's command
  const run = tspod(['system', 'check', '--help']);
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /\$ tspod system check/);
});

test('tspod version and --version answer', () => {
  for (const args of [['version'], ['--version']]) {
    const run = tspod(args);
    assert.is(run.code, 0, run.stderr);
    assert.ok(run.stdout.includes(PACKAGE_VERSION), `${args.join(' ')}: ${run.stdout}`);
  }
});

test('an unknown command exits 125 with one line', () => {
  const run = tspod(['no-such-command']);
  assert.is(run.code, 125);
  assert.is(run.stdout, '');
  assert.is(run.stderr, `Error: unknown command "no-such-command" (see 'tspod --help')\n`);
});

test('tspod version evaluates no other command, --help none at all', () => {
  assert.equal(commandModulesEvaluated(['version']), ['src/commands/version.ts']);
  assert.equal(commandModulesEvaluated(['--help']), []);
});

test('the code cache is used', () => {
  assert.is(withBundle<boolean>('console.log(JSON.stringify(tspod.cacheUsed))'), true);
});

/** The bundles (dist/bundle/*.cjs) a run of tspod loaded, from V8's coverage, and how it ended. */
function bundlesLoaded(args: string[]): { run: Run; bundles: string[] } {
  const coverageDir = mkdtempSync(path.join(scratch, 'coverage-'));
  const run = tspod(args, { ...process.env, NODE_V8_COVERAGE: coverageDir });
  const bundles = new Set<string>();
  for (const file of readdirSync(coverageDir)) {
    const coverage = JSON.parse(readFileSync(path.join(coverageDir, file), 'utf8')) as { result: { url: string }[] };
    for (const { url } of coverage.result) if (/\/dist\/bundle\/[^/]+\.cjs$/.test(url)) bundles.add(path.basename(url));
  }
  return { run, bundles: [...bundles].sort() };
}

test('a plain exec line runs from the exec bundle alone, with its code cache; other lines from the full CLI', () => {
  const store = ['--root', path.join(scratch, 'root'), '--runroot', path.join(scratch, 'run')];
  const plain = bundlesLoaded([...store, 'exec', 'no-such-container', 'true']);
  assert.is(plain.run.stderr, 'Error: no such container: no-such-container: see tspod ps -a\n');
  assert.is(plain.run.code, 125);
  assert.equal(plain.bundles, ['tspod-exec.cjs']);
  // handed over to oclif: the same answer
  const unusual = bundlesLoaded([...store, 'exec', '--', 'no-such-container', 'true']);
  assert.is(unusual.run.stderr, plain.run.stderr);
  assert.is(unusual.run.code, 125);
  assert.equal(unusual.bundles, ['tspod-exec.cjs', 'tspod.cjs']);
  assert.equal(bundlesLoaded(['version']).bundles, ['tspod.cjs']);
  const exec = path.join(REPO, 'dist', 'bundle', 'tspod-exec.cjs');
  assert.is(withBundle<boolean>(`console.log(JSON.stringify(require(${JSON.stringify(BIN)}).loadBundle({ bundle: ${JSON.stringify(exec)} }).cacheUsed))`), true);
});

test('a code cache made from another bundle is ignored, and the CLI still runs', () => {
  const copy = path.join(scratch, 'copy');
  mkdirSync(path.join(copy, 'bin'), { recursive: true });
  mkdirSync(path.join(copy, 'dist', 'bundle'), { recursive: true });
  for (const file of ['bin/tspod', 'bin/package.json', 'package.json', 'oclif.manifest.json', 'dist/bundle/tspod.cjs']) {
    copyFileSync(path.join(REPO, file), path.join(copy, file));
  }
  symlinkSync(path.join(REPO, 'node_modules'), path.join(copy, 'node_modules'));
  // The same V8 data under another bundle's first line: V8 would accept it (same length).
  const cache = readFileSync(path.join(REPO, 'dist/bundle/tspod.cjs.cache'));
  const stamp = cache.subarray(0, cache.indexOf(0x0a) + 1).toString('latin1');
  writeFileSync(path.join(copy, 'dist/bundle/tspod.cjs.cache'), Buffer.concat([Buffer.from(stamp.replace(/[0-9a-f]{8}\n$/, '00000000\n'), 'latin1'), cache.subarray(stamp.length)]));

  const bin = path.join(copy, 'bin', 'tspod');
  assert.is(withBundle<boolean>('console.log(JSON.stringify(tspod.cacheUsed))', bin), false);
  const run = tspod(['no-such-command'], process.env, bin);
  assert.is(run.code, 125);
  assert.is(run.stderr, `Error: unknown command "no-such-command" (see 'tspod --help')\n`);
});

test.run();
