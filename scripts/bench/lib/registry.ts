/**
 * Benchmark registry: starts Debian's docker-registry on a free 127.0.0.1 port (plain HTTP),
 * pushes the named fixtures into it, prints one line `READY host:port` on stdout and serves
 * until it gets SIGTERM/SIGINT or its parent (the benchmark) exits; then it stops the registry
 * and removes its storage. The registry's storage lives in $TMPDIR, so a benchmark can put it
 * on its scratch filesystem.
 *
 *   node dist/scripts/bench/lib/registry.js busybox debian
 */
import { startRegistry } from '../../../test/harness/registry.js';
import { FIXTURE_NAMES, seedRegistry, type FixtureName } from '../../../test/fixtures/seed.js';

function fixtureNames(argv: string[]): FixtureName[] {
  const unknown = argv.filter((a) => !(FIXTURE_NAMES as readonly string[]).includes(a));
  if (argv.length === 0 || unknown.length > 0) {
    throw new Error(`usage: registry.js FIXTURE...; unknown: ${unknown.join(' ') || '(none given)'}; known: ${FIXTURE_NAMES.join(' ')}`);
  }
  return argv as FixtureName[];
}

const names = fixtureNames(process.argv.slice(2));
const registry = await startRegistry();
const stop = () => {
  registry.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
try {
  await seedRegistry({ url: registry.url }, names);
} catch (e) {
  registry.stop();
  throw e;
}
process.stdout.write(`READY ${registry.host}\n`);
// A benchmark killed without its cleanup must not leave the registry behind.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 1000);
