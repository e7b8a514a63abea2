/**
 * tspod commit through the CLI: the container's changes become one more layer (added files,
 * deleted ones as OCI whiteouts, replaced directories as opaque ones) that `run` of the new image
 * sees; -a, -m, each -c instruction, --format, names, -q, stopped and running containers; the
 * bad inputs (missing container, bad -c, bad name) are one line, exit 125, and store nothing.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openContainerEnv, until, type ContainerEnv } from './harness/container-env.js';
import { assertOneError, readState, snapshot } from './harness/store-checks.js';
import { readTar } from './fixtures/images.js';
import { parseChanges, splitWords } from '../src/core/image-changes.js';
import { hexOf } from '../src/store/image-store.js';

const test = suite('commit');
let env: ContainerEnv;

test.before(async () => {
  env = await openContainerEnv(['busybox']);
});

test.after(async () => {
  await env?.close();
});

const ok = (args: string[]) => env.ok(args);

function imageOf(id: string) {
  const image = readState(env.store).images.find((i) => i.id === id);
  assert.ok(image, `image ${id} is in the store`);
  return image;
}

const blob = (digest: string) => readFileSync(path.join(env.store.root, 'blobs', 'sha256', hexOf(digest)));
const configOf = (id: string) => JSON.parse(blob(id).toString('utf8'));

/** The entries of the image's top layer: name -> header. */
async function topLayer(id: string) {
  const image = imageOf(id);
  const manifest = JSON.parse(blob(image.manifestDigest).toString('utf8'));
  const top = manifest.layers.at(-1);
  const entries = await readTar(gunzipSync(blob(top.digest)));
  return { mediaType: top.mediaType as string, entries: new Map(entries.map((e) => [e.header.name.replace(/\/$/, ''), e])) };
}

const commitId = async (args: string[]) => {
  const out = (await ok(['commit', ...args])).trim();
  assert.match(out, /^sha256:[0-9a-f]{64}$/);
  return out;
};

test('added, deleted and replaced files: whiteouts and opaque dirs in the layer, and run of the image sees them', async () => {
  await ok(['run', '--name', 'changed', 'busybox', 'sh', '-c', 'touch /new-file && rm /etc/group && rm -rf /home && mkdir /home && echo x > /home/only && mkdir -p /a/b && ln /new-file /a/b/link']);
  const id = await commitId(['changed', 'changed-img']);
  const { entries, mediaType } = await topLayer(id);
  assert.is(mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  assert.ok(entries.has('new-file'));
  assert.is(entries.get('etc/.wh.group')?.header.type, 'file', 'deleted file: a .wh. entry');
  assert.not.ok(entries.has('etc/group'));
  assert.ok(entries.has('home/.wh..wh..opq'), 'replaced dir: opaque marker');
  assert.ok(entries.has('home/only'));
  assert.equal([entries.get('a/b/link')?.header.type, entries.get('new-file')?.header.type].sort(), ['file', 'link'], 'hardlinks stay hardlinks');
  for (const { header } of entries.values()) {
    assert.not.ok(header.type === 'character-device', `no overlay whiteout device left: ${header.name}`);
    assert.not.ok(Object.keys(header.pax ?? {}).some((k) => k.includes('overlay')), `no overlay xattr left: ${header.name}`);
  }
  const config = configOf(id);
  const base = configOf(imageOf(readState(env.store).images.find((i) => i.names.includes('docker.io/library/busybox:latest'))!.id).id);
  assert.equal(config.rootfs.diff_ids.slice(0, -1), base.rootfs.diff_ids);
  assert.is(config.rootfs.diff_ids.length, base.rootfs.diff_ids.length + 1);
  assert.is(config.history.length, base.history.length + 1);
  assert.match(config.history.at(-1).created_by, /touch \/new-file/);

  const seen = await ok(['run', '--rm', 'changed-img', 'sh', '-c', 'ls /new-file; test -e /etc/group && echo group-back; ls -a /home; cat /home/only']);
  assert.equal(seen.trim().split('\n'), ['/new-file', '.', '..', 'only', 'x']);
  await ok(['rm', 'changed']);
});

test('the seeds example: run --name c busybox touch /new-file; commit c img; run --rm img ls /new-file', async () => {
  await ok(['run', '--name', 'seed', 'busybox', 'touch', '/new-file']);
  await commitId(['seed', 'img']);
  assert.is((await ok(['run', '--rm', 'img', 'ls', '/new-file'])).trim(), '/new-file');
  assert.match(await ok(['images']), /img\s+latest/);
  await ok(['rm', 'seed']);
});

test('-a, -m and every -c instruction end up in the config; USER, ENV, CMD, WORKDIR take effect', async () => {
  await ok(['create', '--name', 'cfg', 'busybox', 'true']);
  const id = await commitId([
    '-a', 'Jane <jane@example.com>',
    '--message', 'with changes',
    '-c', 'ENV A=1 B="two words"',
    '-c', 'ENV C 3 4',
    '-c', 'LABEL com.example.x=y "quoted key"=z',
    '-c', 'EXPOSE 80 53/udp 8000-8001',
    '-c', 'VOLUME ["/data"]',
    '-c', 'VOLUME /v1 /v2',
    '-c', 'WORKDIR /srv',
    '-c', 'WORKDIR app',
    '-c', 'USER nobody',
    '-c', 'STOPSIGNAL SIGINT',
    '-c', 'ONBUILD RUN echo hi',
    '-c', 'CMD ["sh", "-c", "echo user=$(id -u) a=$A b=$B c=$C pwd=$(pwd)"]',
    'cfg', 'cfg-img:v1',
  ]);
  const config = configOf(id);
  assert.is(config.author, 'Jane <jane@example.com>');
  assert.is(config.history.at(-1).comment, 'with changes');
  assert.is(config.history.at(-1).author, 'Jane <jane@example.com>');
  assert.ok(Date.now() - Date.parse(config.created) < 600_000, 'created now');
  const c = config.config;
  assert.ok(c.Env.includes('A=1') && c.Env.includes('B=two words') && c.Env.includes('C=3 4'), c.Env.join(','));
  assert.ok(c.Env.some((e: string) => e.startsWith('PATH=')), 'the image env is kept');
  assert.is(c.Labels['com.example.x'], 'y');
  assert.is(c.Labels['quoted key'], 'z');
  assert.is(c.Labels['org.tspod.fixture'], 'busybox', 'the image labels are kept');
  assert.equal(Object.keys(c.ExposedPorts).sort(), ['53/udp', '80/tcp', '8000/tcp', '8001/tcp']);
  assert.equal(Object.keys(c.Volumes).sort(), ['/data', '/v1', '/v2']);
  assert.is(c.WorkingDir, '/srv/app');
  assert.is(c.User, 'nobody');
  assert.is(c.StopSignal, 'SIGINT');
  assert.equal(c.OnBuild, ['RUN echo hi']);
  const out = await ok(['run', '--rm', 'cfg-img:v1']);
  assert.is(out.trim(), 'user=65534 a=1 b=two words c=3 4 pwd=/srv/app');
  await ok(['rm', 'cfg']);
});

test('-c CMD shell form, ENTRYPOINT (drops the inherited CMD unless given), Podman\'s INSTRUCTION=VALUE form', async () => {
  await ok(['create', '--name', 'ep', 'busybox', 'true']);
  const shell = await commitId(['-c', 'CMD echo shell form', 'ep']);
  assert.equal(configOf(shell).config.Cmd, ['/bin/sh', '-c', 'echo shell form']);
  assert.is((await ok(['run', '--rm', shell])).trim(), 'shell form');
  const entry = await commitId(['-c', 'ENTRYPOINT ["echo", "entry"]', 'ep']);
  assert.equal(configOf(entry).config.Entrypoint, ['echo', 'entry']);
  assert.is(configOf(entry).config.Cmd, null);
  const both = await commitId(['-c', 'CMD ["b"]', '-c', 'ENTRYPOINT ["echo", "a"]', 'ep']);
  assert.is((await ok(['run', '--rm', both])).trim(), 'a b');
  const podman = await commitId(['--change', 'USER=app', 'ep']);
  assert.is(configOf(podman).config.User, 'app');
  await ok(['rm', 'ep']);
});

test('names: none is <none>, a short name is docker.io/library/NAME:latest as tag does, a registry name stays; -q prints the ID', async () => {
  await ok(['create', '--name', 'named', 'busybox', 'true']);
  const none = await commitId(['named']);
  assert.equal(imageOf(none).names, []);
  const short = await commitId(['-q', 'named', 'short']);
  const tagged = await commitId(['named', 'localhost:5000/team/app:v2']);
  // same content, different created time: different images
  assert.is.not(short, tagged);
  assert.equal(imageOf(short).names, ['docker.io/library/short:latest']);
  assert.equal(imageOf(tagged).names, ['localhost:5000/team/app:v2']);
  const again = await commitId(['named', 'short']);
  assert.equal(imageOf(again).names, ['docker.io/library/short:latest'], 'the name moves to the new image');
  assert.equal(imageOf(short).names, []);
  await ok(['rm', 'named']);
});

test('--format docker writes a Docker v2s2 manifest and layer media type; container commit is the same command', async () => {
  await ok(['create', '--name', 'fmt', 'busybox', 'true']);
  const id = (await ok(['container', 'commit', '--format', 'docker', 'fmt', 'fmt-img'])).trim();
  assert.is(imageOf(id).manifestMediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  assert.is((await topLayer(id)).mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
  assert.is((await ok(['run', '--rm', 'fmt-img', 'echo', 'runs'])).trim(), 'runs');
  await ok(['rm', 'fmt']);
});

test('a running container: paused while committed (not with --pause=false), and it keeps running', async () => {
  const cid = (await ok(['run', '-d', '--name', 'live', 'busybox', 'sh', '-c', 'echo live > /state; rm /etc/passwd; echo ready; sleep 1000'])).trim();
  await until('live is ready', async () => ((await ok(['logs', 'live'])).includes('ready') ? true : undefined));
  const pauses = async () => (await ok(['events', '--until', '0s', '--filter', 'container=live', '--filter', 'event=pause', '--filter', 'event=unpause', '--format', '{{.Action}}'])).trim();
  const id = await commitId(['live', 'live-img']);
  assert.is(await pauses(), 'pause\nunpause');
  await commitId(['--pause=false', 'live']);
  await commitId(['--no-pause', 'live']);
  assert.is(await pauses(), 'pause\nunpause', 'no pause without --pause');
  assert.is((await ok(['inspect', '-f', '{{.State.Status}}', cid])).trim(), 'running');
  assert.is((await ok(['run', '--rm', id, 'sh', '-c', 'cat /state; test -e /etc/passwd || echo passwd-gone; ls /etc/group'])).trim(), 'live\npasswd-gone\n/etc/group');
  await ok(['rm', '-f', 'live']);
});

test('an event is recorded', async () => {
  await ok(['create', '--name', 'ev', 'busybox', 'true']);
  const id = await commitId(['-m', 'note', 'ev', 'ev-img']);
  const log = readFileSync(path.join(env.store.runroot, 'events', 'events.log'), 'utf8');
  const events = log.trim().split('\n').map((l) => JSON.parse(l));
  const commit = events.find((e) => e.action === 'commit' && e.attributes?.imageID === id);
  assert.ok(commit, log);
  assert.is(commit.type, 'container');
  assert.is(commit.name, 'ev');
  await ok(['rm', 'ev']);
});

test('bad input: missing container, bad -c, digest name: one line, 125, nothing stored', async () => {
  await ok(['create', '--name', 'bad', 'busybox', 'true']);
  const before = snapshot(env.store);
  assertOneError(await env.tspod(['commit', 'no-such-container', 'x']), /no such container: no-such-container/);
  assertOneError(await env.tspod(['commit', '-c', 'FROM debian', 'bad', 'x']), /invalid --change "FROM debian".*FROM is not/);
  assertOneError(await env.tspod(['commit', '-c', 'RUN echo', 'bad']), /invalid --change/);
  assertOneError(await env.tspod(['commit', '-c', 'EXPOSE http', 'bad']), /"http" is not a port/);
  assertOneError(await env.tspod(['commit', '-c', 'ENV', 'bad']), /ENV needs an argument/);
  assertOneError(await env.tspod(['commit', '-c', 'LABEL a="unterminated', 'bad']), /unterminated/);
  assertOneError(await env.tspod(['commit', 'bad', 'UPPER/case']), /invalid reference format/);
  assertOneError(await env.tspod(['commit', 'bad', `x@sha256:${'a'.repeat(64)}`]), /cannot tag with a digest/);
  assertOneError(await env.tspod(['commit', '--format', 'v1', 'bad']), /format/);
  assert.equal(snapshot(env.store), before);
  await ok(['rm', 'bad']);
});

test('splitWords and parseChanges: quotes, escapes, order', () => {
  assert.equal(splitWords(`a="b c" d='e "f"' g=h\\ i`), ['a=b c', `d=e "f"`, 'g=h i']);
  const apply = parseChanges(['ENV X=1', 'ENV X=2', 'WORKDIR /a', 'WORKDIR ../b']);
  const result = apply({ Env: ['X=0', 'Y=1'], Cmd: ['sh'] });
  assert.equal(result.Env, ['Y=1', 'X=2']);
  assert.is(result.WorkingDir, '/b');
  assert.equal(result.Cmd, ['sh'], 'untouched fields stay');
});

test.run();
