#!/usr/bin/env node
/**
 * `npm run build`. Four steps:
 *   1. tsc: type-checks and compiles everything to dist/ (dist/src, dist/test: what tests import).
 *   2. esbuild: the CLI as one CommonJS file, dist/bundle/tspod.cjs: src/cli/main.ts, every
 *      command under src/commands (found by walking the tree), @oclif/core and the other
 *      pure-JS dependencies. bin/tspod runs it. And the exec fast path (src/cli/fast-exec.ts)
 *      alone, dist/bundle/tspod-exec.cjs, a sixth of the size, which bin/tspod tries first
 *      for an exec line.
 *   3. oclif manifest: oclif.manifest.json, from which oclif lists commands, their flags and
 *      aliases without loading them.
 *   4. V8 code caches for the bundles, dist/bundle/*.cjs.cache (see bin/tspod).
 *
 * Why: unbundled, @oclif/core alone is ~700 files to resolve and load; parsing and compiling
 * the code on every start then cost more than starting Node. Commands stay lazy inside the
 * bundle: each one, with what only it imports, is evaluated when oclif asks for its class, so
 * `tspod ps` never runs the module code of `pull`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const BUNDLE = path.join(root, 'dist', 'bundle', 'tspod.cjs');
const EXEC_BUNDLE = path.join(root, 'dist', 'bundle', 'tspod-exec.cjs');
const COMMANDS_DIR = path.join(root, 'src', 'commands');

/** Command ids as oclif's pattern discovery names them: system/check.ts is system:check. */
function commandFiles(dir = COMMANDS_DIR) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return commandFiles(file);
    if (!entry.name.endsWith('.ts') || /\.(d|test|spec)\.ts$/.test(entry.name)) return [];
    const words = path.relative(COMMANDS_DIR, file).slice(0, -'.ts'.length).split(path.sep);
    if (words.at(-1) === 'index') words.pop();
    return [{ id: words.join(':'), file }];
  });
}

/**
 * The bundle's entry: main() and COMMANDS, the object oclif's "explicit" discovery reads
 * (package.json, oclif.commands). Each command is a getter: oclif reads only the one it runs
 * (the manifest tells it the ids), and esbuild turns each require() below into a lazy init.
 */
function entrySource() {
  const rel = (file) => JSON.stringify(`./${path.relative(root, file).split(path.sep).join('/')}`);
  return [
    `export { main } from ${rel(path.join(root, 'src', 'cli', 'main.ts'))};`,
    'export const COMMANDS = {};',
    '/**',
    ' * The command class of a module, found the way oclif finds it in a commands directory. A',
    ' * module that fails to load (a file missing mid-edit, a broken addon) leaves its command',
    ' * listed, and running it reports the error; the other commands work.',
    ' */',
    'function command(id, load) {',
    '  Object.defineProperty(COMMANDS, id, {',
    '    enumerable: true,',
    '    get() {',
    '      let m;',
    '      try {',
    '        m = load();',
    '      } catch (error) {',
    '        return class {',
    "          static description = `not available: ${String(error.message).split('\\n')[0]}`;",
    '          static run() {',
    '            throw error;',
    '          }',
    '        };',
    '      }',
    "      return typeof m.default?.run === 'function' ? m.default : Object.values(m).find((v) => typeof v?.run === 'function');",
    '    },',
    '  });',
    '}',
    ...commandFiles().map(({ id, file }) => `command(${JSON.stringify(id)}, () => require(${rel(file)}));`),
  ].join('\n');
}

/**
 * Bundled code runs from dist/bundle, not from where tsc puts it. A module that finds files
 * next to itself (import.meta.url, .dirname, .filename: a script to spawn, a worker) is given
 * the location of its compiled twin in dist/src, which step 1 wrote. A computed import()
 * specifier cannot be followed into the bundle, so it is an error.
 */
const IMPORT_META = '__tspodImportMeta';
const unresolved = new Set();
const sourcePlugin = {
  name: 'tspod-source',
  setup(build) {
    // An import of a file that does not exist (yet: work in progress, which tsc reports too)
    // fails when that module is first evaluated, as it would unbundled, not the whole build.
    build.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (args.pluginData === 'retry' || !args.importer.startsWith(path.join(root, 'src') + path.sep)) return undefined;
      const found = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'retry' });
      if (found.errors.length === 0) return found;
      const twin = path.join(root, 'dist', path.relative(root, path.resolve(args.resolveDir, args.path)));
      unresolved.add(path.relative(root, args.importer) + ': ' + args.path);
      return { path: `./${path.relative(path.dirname(BUNDLE), twin).split(path.sep).join('/')}`, external: true };
    });
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(path.join(root, 'src') + path.sep)) return undefined;
      const source = readFileSync(args.path, 'utf8');
      const code = source.replace(/\/\/.*|\/\*[\s\S]*?\*\//g, '');
      if (/\bimport\(\s*(?!['"][^'"]*['"]\s*\))/.test(code)) {
        return { errors: [{ text: 'import() of a computed specifier cannot be bundled: import a string literal' }] };
      }
      const twin = path.relative(path.dirname(BUNDLE), path.join(root, 'dist', path.relative(root, args.path))).replace(/\.ts$/, '.js');
      return {
        contents: source.replace(/\bimport\.meta(?=\.(url|dirname|filename)\b)/g, `${IMPORT_META}(${JSON.stringify(twin.split(path.sep).join('/'))})`),
        loader: 'ts',
      };
    });
  },
};
const IMPORT_META_HELPER = `
function ${IMPORT_META}(twin) {
  const filename = require("node:path").join(__dirname, twin);
  return { url: require("node:url").pathToFileURL(filename).href, filename, dirname: require("node:path").dirname(filename) };
}
`;

/** Packages with a compiled addon load it from their own directory: they stay in node_modules. */
const nativePackages = new Set();
const nativePlugin = {
  name: 'tspod-native',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return undefined;
      const name = args.path.split('/').slice(0, args.path.startsWith('@') ? 2 : 1).join('/');
      let dir = args.resolveDir;
      for (; ; dir = path.dirname(dir)) {
        const pjson = path.join(dir, 'node_modules', name, 'package.json');
        if (existsSync(pjson)) {
          const p = JSON.parse(readFileSync(pjson, 'utf8'));
          const deps = { ...p.dependencies, ...p.optionalDependencies };
          const native = p.gypfile || p.binary || p.napi || ['node-gyp-build', 'bindings', 'prebuild-install', '@mapbox/node-pre-gyp'].some((d) => d in deps);
          if (!native) return undefined;
          nativePackages.add(name);
          return { path: args.path, external: true };
        }
        if (dir === path.dirname(dir)) return undefined;
      }
    });
  },
};

/**
 * Two startup costs inside @oclif/core, removed at bundle time:
 * - its index requires the whole library up front (errors pull in help, help pulls in ux...)
 *   although a command uses a fraction: top-level `const x = require("...")` become lazy, the
 *   module is evaluated on first property access. Only names used solely as `x.member` (what
 *   TypeScript's CommonJS output does) are changed; anything else is left as it is.
 * - sorting command ids with localeCompare builds ICU's collator, which costs about as much
 *   as starting Node; ids are ASCII, for which plain comparison is the same order.
 */
const LAZY_HELPER = `
function __tspodLazy(load) {
  let m;
  const get = () => (m ??= load());
  return new Proxy({}, {
    get: (_, key) => get()[key],
    set: (_, key, value) => ((get()[key] = value), true),
    has: (_, key) => key in get(),
    ownKeys: () => Reflect.ownKeys(get()),
    getOwnPropertyDescriptor: (_, key) => {
      const d = Reflect.getOwnPropertyDescriptor(get(), key);
      return d && { ...d, configurable: true };
    },
  });
}
`;
const LOCALE_SORT = '.sort((a, b) => a.id.localeCompare(b.id))';
let localeSortReplaced = false;
const oclifPlugin = {
  name: 'tspod-oclif',
  setup(build) {
    const lib = path.join(path.dirname(require.resolve('@oclif/core/package.json')), 'lib') + path.sep;
    build.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(lib)) return undefined;
      let source = readFileSync(args.path, 'utf8');
      if (source.includes(LOCALE_SORT)) {
        source = source.replace(LOCALE_SORT, '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))');
        localeSortReplaced = true;
      }
      const original = source;
      source = source.replace(/^(const|var) ([A-Za-z_$][\w$]*) = ((?:__importDefault\(|__importStar\()?require\(['"][^'"]+['"]\)\)?);$/gm, (line, kind, name, expr) => {
        const uses = [...original.matchAll(new RegExp(`(?<![\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])(.?)`, 'g'))];
        if (uses.slice(1).some((use) => use[1] !== '.')) return line;
        return `${kind} ${name} = __tspodLazy(() => ${expr});`;
      });
      source = source.replace(/^exports\.(\w+) = (__importStar\(require\(['"][^'"]+['"]\)\));$/gm, (_, name, expr) => `Object.defineProperty(exports, "${name}", { enumerable: true, get: () => ${expr} });`);
      return { contents: source === original ? source : source + LAZY_HELPER, loader: 'js' };
    });
  },
};

/** Non-ASCII characters esbuild leaves in regular expressions, as \u escapes (same meaning). */
function asciiOnly(text) {
  return text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

rmSync(path.join(root, 'dist'), { recursive: true, force: true });
// tsc writes dist even when a file does not type-check (often another engineer's, mid-edit):
// the build goes on so the CLI still runs, and fails at the end.
const typeCheck = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', '.'], { cwd: root, stdio: 'inherit' });

/** One bundle from `entry` (esbuild's stdin options), written to `outfile` with its stamp. */
async function writeBundle(entry, outfile) {
  const result = await esbuild.build({
    absWorkingDir: root,
    stdin: { resolveDir: root, loader: 'js', ...entry },
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // oclif reads tsconfig.json with it only to run a CLI from its TypeScript sources.
    external: ['typescript'],
    // oclif's check of its own engines field loads semver (50 modules); package.json's engines
    // already says which Node tspod needs.
    define: { 'process.env.OCLIF_DISABLE_ENGINE_WARNING': '"1"' },
    plugins: [sourcePlugin, nativePlugin, oclifPlugin],
    write: false,
    logLevel: 'warning',
  }).catch(() => process.exit(1)); // esbuild has printed the errors
  if (result.warnings.length > 0) {
    console.error('build: esbuild warnings are errors here (the bundle would not behave like dist/src)');
    process.exit(1);
  }
  let text = asciiOnly(result.outputFiles[0].text);
  if (text.includes(`${IMPORT_META}(`)) text += IMPORT_META_HELPER;
  // The first line identifies this bundle; bin/tspod uses a code cache only if it was made from it.
  const stamp = `// tspod bundle ${createHash('sha256').update(text).digest('hex').slice(0, 32)}\n`;
  mkdirSync(path.dirname(outfile), { recursive: true });
  writeFileSync(outfile, stamp + text);
}

await writeBundle({ contents: entrySource(), sourcefile: 'tspod-commands.js' }, BUNDLE);
await writeBundle({ contents: `export { fastMain } from './src/cli/fast-exec.ts';`, sourcefile: 'tspod-exec.js' }, EXEC_BUNDLE);
for (const what of unresolved) console.warn(`build: not found, left out of the bundle: ${what}`);
if (!localeSortReplaced) console.warn('build: @oclif/core changed, its localeCompare sort is no longer replaced (slower start)');

const manifest = spawnSync(process.execPath, [path.join(path.dirname(require.resolve('oclif/package.json')), 'bin', 'run.js'), 'manifest'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true' },
});
if (manifest.status !== 0) {
  console.error('build: oclif manifest failed');
  process.exit(1);
}

/**
 * The code cache holds V8's bytecode for what the warm-up compiled: oclif's start, the help,
 * and a command run that stops at parsing its flags (an unknown flag), which is the path every
 * command takes. It touches nothing on the host. Other commands' modules are compiled when
 * they first run, so that a run does not pay for deserializing all of them.
 */
const warmUp = spawnSync(process.execPath, ['-e', `
  const tspod = require(${JSON.stringify(path.join(root, 'bin', 'tspod'))}).loadBundle({ useCache: false });
  tspod.cli.main(['--help'])
    .then(() => {
      if (process.exitCode) throw new Error('tspod --help failed');
      return tspod.cli.main(['version', '--no-such-flag']);
    })
    .then(() => {
      process.exitCode = 0;
      tspod.writeCache();
    });
`], { cwd: root, encoding: 'utf8' });
if (warmUp.status !== 0) {
  process.stderr.write(warmUp.stderr);
  console.error('build: code cache warm-up failed');
  process.exit(1);
}

/**
 * The exec bundle's cache: an exec into a container that does not exist, in a throwaway store,
 * compiles the line's parsing and the container store's reading; what runs the runtime is
 * compiled when an exec first gets there.
 */
const warmUpStore = mkdtempSync(path.join(os.tmpdir(), 'tspod-build-'));
const execWarmUp = spawnSync(process.execPath, ['-e', `
  const tspod = require(${JSON.stringify(path.join(root, 'bin', 'tspod'))}).loadBundle({ bundle: ${JSON.stringify(EXEC_BUNDLE)}, useCache: false });
  const store = ${JSON.stringify(warmUpStore)};
  tspod.cli.fastMain(['--root', store + '/root', '--runroot', store + '/run', 'exec', 'no-such-container', 'true']).then((ran) => {
    if (!ran || process.exitCode !== 125) throw new Error('the exec fast path did not report the missing container');
    process.exitCode = 0;
    tspod.writeCache();
  });
`], { cwd: root, encoding: 'utf8' });
rmSync(warmUpStore, { recursive: true, force: true });
if (execWarmUp.status !== 0) {
  process.stderr.write(execWarmUp.stderr);
  console.error('build: code cache warm-up of the exec bundle failed');
  process.exit(1);
}

if (typeCheck.status !== 0 || unresolved.size > 0) {
  console.error('build: type errors (dist and the bundle were written all the same, so the CLI runs)');
  process.exit(1);
}
console.log(`build: ${path.relative(root, BUNDLE)} and ${path.relative(root, EXEC_BUNDLE)} (${commandFiles().length} commands${nativePackages.size ? `; in node_modules: ${[...nativePackages].join(', ')}` : ''}), oclif.manifest.json, code caches`);
