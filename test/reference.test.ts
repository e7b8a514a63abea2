import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { familiarRepo, formatReference, parseReference } from '../src/core/reference.js';
import { TspodError } from '../src/core/errors.js';
import { candidateReferences, loadRegistriesConfig } from '../src/core/registries.js';

test('short names normalize like Docker', () => {
  assert.is(formatReference(parseReference('debian')), 'docker.io/library/debian:latest');
  assert.is(formatReference(parseReference('debian:bookworm')), 'docker.io/library/debian:bookworm');
  assert.is(formatReference(parseReference('user/app')), 'docker.io/user/app:latest');
  assert.is(formatReference(parseReference('index.docker.io/library/debian')), 'docker.io/library/debian:latest');
  assert.is(parseReference('debian').qualified, false);
});

test('registries with ports, localhost and digests', () => {
  const d = 'sha256:' + 'a'.repeat(64);
  const r = parseReference(`127.0.0.1:5000/a/b:v1@${d}`);
  assert.equal([r.registry, r.repository, r.tag, r.digest, r.qualified], ['127.0.0.1:5000', 'a/b', 'v1', d, true]);
  assert.is(parseReference('localhost/app').registry, 'localhost');
  assert.is(parseReference(`app@${d}`).tag, undefined);
  assert.is(familiarRepo('docker.io/library/debian'), 'debian');
  assert.is(familiarRepo('127.0.0.1:5000/x'), '127.0.0.1:5000/x');
});

test('malformed references are one clear error', () => {
  for (const bad of ['Debian', 'debian:', 'a//b', 'debian@sha256:abc', ':tag', 'a:b:c', 'debian:' + 'x'.repeat(200), '']) {
    try {
      parseReference(bad);
      assert.unreachable(`accepted ${bad}`);
    } catch (e) {
      assert.instance(e, TspodError, bad);
      assert.match((e as Error).message, 'invalid reference format');
    }
  }
});

test('short names try aliases, then search registries in order', () => {
  const config = loadRegistriesConfig([]);
  config.unqualifiedSearchRegistries = ['127.0.0.1:5000', 'docker.io'];
  config.aliases = { busybox: '127.0.0.1:6000/tools/busybox' };
  const names = (input: string) => candidateReferences(config, input, parseReference(input)).map(formatReference);
  assert.equal(names('debian:12'), ['127.0.0.1:5000/debian:12', 'docker.io/library/debian:12']);
  assert.equal(names('busybox:1.36'), ['127.0.0.1:6000/tools/busybox:1.36']);
  assert.equal(names('quay.io/x/y'), ['quay.io/x/y:latest']);
});

test.run();
