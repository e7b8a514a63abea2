/**
 * `tspod info` and `tspod version` end to end: their fields against what the host says through
 * other means (os, /etc/subuid, the helpers' own --version), Podman-style Go templates, and a
 * store that info counts but never creates.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HostInfo } from '../src/core/host-info.js';
import type { VersionInfo } from '../src/core/version-info.js';
import { findExecutable } from '../src/namespaces/helpers.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO, 'bin', 'tspod');
const PACKAGE_VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const rootless = process.geteuid!() !== 0;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'tspod-info-test-'));
const root = path.join(scratch, 'root');
const runroot = path.join(scratch, 'run');
const configHome = path.join(scratch, 'config');

function tspod(args: string[]) {
  const result = spawnSync(process.execPath, [BIN, '--root', root, '--runroot', runroot, ...args], {
    env: { ...process.env, XDG_CONFIG_HOME: configHome },
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

let first: HostInfo | undefined;

/** The first info of the run: the host does not change between tests, so one spawn serves them. */
function firstInfo(): HostInfo {
  return (first ??= infoJson());
}

function infoJson(): HostInfo {
  const result = tspod(['info', '--format', 'json']);
  assert.is(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as HostInfo;
}

/** A helper's version as its own --version prints it, read independently of tspod's parser. */
function ownVersion(name: string): string {
  const first = execFileSync(findExecutable(name)!, ['--version'], { encoding: 'utf8' }).split('\n')[0];
  return first.split(/\s+/)[2];
}

/** The user's ranges as /etc/subuid lists them. */
function subIdLines(kind: 'uid' | 'gid'): { start: number; count: number }[] {
  const user = os.userInfo();
  return readFileSync(`/etc/sub${kind}`, 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .filter(([owner]) => owner === user.username || owner === String(user.uid))
    .map(([, start, count]) => ({ start: Number(start), count: Number(count) }));
}

function imageRecord(n: number) {
  const digest = `sha256:${String(n).repeat(64).slice(0, 64)}`;
  return {
    id: digest,
    names: [`localhost/test${n}:latest`],
    digests: [],
    manifestDigest: digest,
    manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    layers: [],
    size: 0,
    created: '2024-01-01T00:00:00Z',
    added: '2024-01-01T00:00:00Z',
  };
}

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test('info --format json: the host as the OS reports it', () => {
  const { host } = firstInfo();
  assert.is(host.os, 'linux');
  assert.is(host.arch, process.arch === 'x64' ? 'amd64' : process.arch);
  assert.is(host.kernel, execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
  assert.is(host.cpus, os.availableParallelism());
  assert.is(host.memTotal, os.totalmem());
  assert.is(host.rootless, rootless);
  assert.is(host.uid, process.geteuid!());
  assert.is(host.gid, process.getegid!());
  assert.ok(['v1', 'v2'].includes(host.cgroupVersion));
  const cgroup2AtRoot = execFileSync('stat', ['-f', '-c', '%T', '/sys/fs/cgroup'], { encoding: 'utf8' }).trim() === 'cgroup2fs';
  assert.is(host.cgroupVersion, cgroup2AtRoot ? 'v2' : 'v1');
  assert.is(host.distribution.distribution, 'debian');
  if (rootless) {
    assert.equal(host.subuidRanges, subIdLines('uid'));
    assert.equal(host.subgidRanges, subIdLines('gid'));
    assert.ok(host.subuidRanges.length > 0, 'CI gives the test user subordinate ids');
  } else {
    assert.equal(host.subuidRanges, []);
  }
});

test('info --format json: the helpers with the versions they report themselves', () => {
  const { host } = firstInfo();
  assert.ok(host.ociRuntime, 'a runtime works on these machines');
  assert.is(host.ociRuntime!.path, findExecutable(host.ociRuntime!.name));
  assert.is(host.ociRuntime!.version, ownVersion(host.ociRuntime!.name));
  if (host.cgroupHybrid) assert.is(host.ociRuntime!.name, 'runc');
  assert.is(host.conmon!.path, findExecutable('conmon'));
  assert.is(host.conmon!.version, ownVersion('conmon'));
  assert.is(host.networkHelper!.name, 'slirp4netns');
  assert.is(host.networkHelper!.version, ownVersion('slirp4netns'));
});

test('info counts the images of an existing store and does not create a missing one', () => {
  const empty = firstInfo().store;
  assert.is(empty.graphDriverName, 'overlay');
  assert.is(empty.graphRoot, root);
  assert.is(empty.runRoot, runroot);
  assert.is(empty.imageStore.number, 0);
  assert.not.ok(existsSync(root), 'info created the store');

  mkdirSync(root, { mode: 0o700 });
  writeFileSync(path.join(root, 'images.json'), JSON.stringify({ version: 1, images: [imageRecord(1), imageRecord(2)], layers: [] }));
  assert.is(infoJson().store.imageStore.number, 2);
});

test('info shows the registry configuration and the files it came from', () => {
  // Root reads only /etc/tspod, which the test must not touch: there, info must show that file as it is.
  if (!rootless) {
    const system = '/etc/tspod/registries.json';
    const info = infoJson();
    if (!existsSync(system)) {
      assert.equal(info.store.configFiles, []);
      assert.equal(info.registries.search, ['docker.io']);
      return;
    }
    assert.equal(info.store.configFiles, [system]);
    const config = JSON.parse(readFileSync(system, 'utf8')) as { unqualifiedSearchRegistries?: string[]; registries?: Record<string, { mirrors?: string[] }> };
    assert.equal(info.registries.search, config.unqualifiedSearchRegistries ?? ['docker.io']);
    for (const [host, entry] of Object.entries(config.registries ?? {})) {
      if (entry.mirrors?.length) assert.equal(info.registries.mirrors[host], entry.mirrors);
    }
    return;
  }
  const file = path.join(configHome, 'tspod', 'registries.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    JSON.stringify({
      registries: { 'example.test': { mirrors: ['127.0.0.1:5999'] }, '127.0.0.1:5000': { insecure: true } },
      unqualifiedSearchRegistries: ['example.test', 'docker.io'],
    }),
  );
  try {
    const info = infoJson();
    assert.ok(info.store.configFiles.includes(file), info.store.configFiles.join(', '));
    assert.equal(info.registries.search, ['example.test', 'docker.io']);
    assert.equal(info.registries.mirrors['example.test'], ['127.0.0.1:5999']);
    assert.ok(info.registries.insecure.includes('127.0.0.1:5000'));

    const templated = tspod(['info', '--format', '{{index .Registries.Mirrors "example.test"}}']);
    assert.is(templated.stdout, '[127.0.0.1:5999]\n', templated.stderr);
  } finally {
    rmSync(file);
  }
});

test('info: Podman\'s template fields and the YAML-ish default', () => {
  const info = infoJson();
  const templated = tspod(['info', '--format', '{{.Host.OCIRuntime.Name}} {{.Store.GraphRoot}} {{.Store.ImageStore.Number}} {{.Host.CPUs}} {{.Host.Arch}}']);
  assert.is(templated.code, 0, templated.stderr);
  assert.is(templated.stdout, `${info.host.ociRuntime!.name} ${root} ${info.store.imageStore.number} ${info.host.cpus} ${info.host.arch}\n`);

  const yaml = tspod(['info']);
  assert.is(yaml.code, 0, yaml.stderr);
  const lines = yaml.stdout.split('\n');
  for (const expected of ['host:', `  kernel: ${info.host.kernel}`, '  ociRuntime:', `    name: ${info.host.ociRuntime!.name}`, 'store:', `  graphRoot: ${root}`, '  imageStore:', 'registries:']) {
    assert.ok(lines.includes(expected), `no line "${expected}" in:\n${yaml.stdout}`);
  }
});

test('info: a malformed template is one line of error, exit 125', () => {
  const result = tspod(['info', '--format', '{{.Host.Arch']);
  assert.is(result.code, 125);
  assert.is(result.stdout, '');
  assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, /^Error: template/);
});

test('version: tspod, Node, platform and the runtime with its version', () => {
  const json = tspod(['version', '--format', 'json']);
  assert.is(json.code, 0, json.stderr);
  const v = JSON.parse(json.stdout) as VersionInfo;
  assert.is(v.Client.Version, PACKAGE_VERSION);
  assert.is(v.Client.NodeVersion, process.version);
  assert.is(v.Client.OsArch, `linux/${v.Client.Arch}`);
  assert.ok(v.Runtime, 'a runtime works on these machines');
  assert.is(v.Runtime!.Version, ownVersion(v.Runtime!.Name));
  assert.is(v.Conmon!.Version, ownVersion('conmon'));

  const plain = tspod(['version']);
  assert.is(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, new RegExp(`^Version: +${PACKAGE_VERSION.replaceAll('.', '\\.')}$`, 'm'));
  assert.ok(plain.stdout.includes(`OCI Runtime:  ${v.Runtime!.Name} ${v.Runtime!.Version} (${v.Runtime!.Path})`), plain.stdout);

  const templated = tspod(['version', '--format', '{{.Client.Version}} {{.Runtime.Name}}']);
  assert.is(templated.stdout, `${PACKAGE_VERSION} ${v.Runtime!.Name}\n`, templated.stderr);
});

test('version --runtime chooses the runtime it reports; --version is version', () => {
  const crun = tspod(['version', '--runtime', 'crun', '--format', '{{.Runtime.Name}} {{.Runtime.Version}}']);
  assert.is(crun.stdout, `crun ${ownVersion('crun')}\n`, crun.stderr);
  const missing = tspod(['version', '--runtime', path.join(scratch, 'no-runtime')]);
  assert.is(missing.code, 0, missing.stderr);
  assert.match(missing.stdout, /^OCI Runtime: +none works/m);
  const shortcut = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
  assert.match(shortcut.stdout, /^Client: +tspod$/m);
});

test.run();
