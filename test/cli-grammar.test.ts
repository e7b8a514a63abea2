import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { flagTable, splitAtPositionals } from '../src/cli/argv.js';
import { liftLeadingGlobals, leadingGlobal } from '../src/cli/globals.js';
import { makeStore } from './harness/cli.js';

const table = flagTable({
  interactive: { type: 'boolean', char: 'i' },
  tty: { type: 'boolean', char: 't' },
  env: { type: 'option', char: 'e' },
  volume: { type: 'option', char: 'v' },
  name: { type: 'option' },
  rm: { type: 'boolean' },
});

test('everything after the image belongs to the container', () => {
  assert.equal(splitAtPositionals(['debian', 'ls', '-la'], table), { own: ['debian'], rest: ['ls', '-la'] });
  assert.equal(splitAtPositionals(['--rm', '-it', 'debian', 'bash', '--rm'], table), { own: ['--rm', '-it', 'debian'], rest: ['bash', '--rm'] });
});

test('flag values are not mistaken for the image', () => {
  assert.equal(splitAtPositionals(['-v', 'a:/b', 'debian', 'true'], table), { own: ['-v', 'a:/b', 'debian'], rest: ['true'] });
  assert.equal(splitAtPositionals(['--name', 'web', '-e', 'A=1', '--env=B=2', 'debian'], table).rest, []);
  assert.equal(splitAtPositionals(['-ie', 'A=1', 'debian', 'env'], table), { own: ['-ie', 'A=1', 'debian'], rest: ['env'] });
  assert.equal(splitAtPositionals(['-eA=1', 'debian', 'env'], table), { own: ['-eA=1', 'debian'], rest: ['env'] });
});

test('-- ends tspod flags and a later -- is the container\'s', () => {
  assert.equal(splitAtPositionals(['--rm', '--', 'debian', '--', 'x'], table), { own: ['--rm', '--', 'debian'], rest: ['--', 'x'] });
});

test('several own positionals (exec CONTAINER CMD)', () => {
  assert.equal(splitAtPositionals(['-i', 'c1', 'sh', '-c', 'x'], table, 1), { own: ['-i', 'c1'], rest: ['sh', '-c', 'x'] });
});

test('global flags before the command are lifted out', () => {
  assert.equal(liftLeadingGlobals(['--root', '/r', '--runroot=/rr', 'images', '-a']), ['images', '-a']);
  assert.is(leadingGlobal('root'), '/r');
  assert.is(leadingGlobal('runroot'), '/rr');
  assert.equal(liftLeadingGlobals(['run', '--root', 'x']), ['run', '--root', 'x']);
});

test('a boolean flag with =true or =false, with or without a --no- form (-q=false, --quiet=true)', async () => {
  const store = makeStore();
  try {
    const header = /^REPOSITORY\s+TAG\s+IMAGE ID/;
    for (const [args, table] of [[['-q=false'], true], [['--quiet=false'], true], [['--quiet=true'], false], [['-q=true'], false]] as const) {
      const r = await store.tspod(['images', ...args]);
      assert.is(r.code, 0, `images ${args.join(' ')}: ${r.stderr}`);
      assert.is(header.test(r.stdout), table, `images ${args.join(' ')} printed ${JSON.stringify(r.stdout)}`);
    }
  } finally {
    await store.cleanup();
  }
});

test.run();
