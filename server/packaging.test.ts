// The Dockerfile, its baked config and the systemd unit agree with each other and with the
// config loader. (No Docker engine here: this and a linter are what check the image.)
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig, parseListen } from './config.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(ROOT + path, 'utf8');
const DOCKERFILE = read('Dockerfile');
const UNIT_PATH = `${ROOT}contrib/systemd/railyard.service`;
const UNIT = read('contrib/systemd/railyard.service');

const imageConfig = loadConfig({
  file: `${ROOT}contrib/docker/railyard.yaml`,
  env: { RAILYARD_PUBLIC_URL: 'http://10.0.0.5:8080' },
});

/** Instructions of the final stage, continuation lines joined. */
function finalStage(): string[] {
  const lines = DOCKERFILE.replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const from = lines.map((l, i) => (l.startsWith('FROM ') ? i : -1)).filter((i) => i >= 0);
  return lines.slice(from[from.length - 1]);
}

test('both stages build on BASE (default node:20-bookworm-slim); the build stage compiles, then keeps production deps only', () => {
  assert.match(DOCKERFILE, /^ARG BASE=node:20-bookworm-slim$/m);
  assert.equal(DOCKERFILE.match(/^FROM .*$/gm), ['FROM ${BASE} AS build', 'FROM ${BASE}']);
  assert.match(DOCKERFILE, 'RUN npm run build && npm prune --omit=dev');
  // What the final stage copies is run in compiled-build.test.ts.
  assert.not.ok(finalStage().includes('COPY . .'), 'the image holds no TypeScript sources');
});

test('the baked config loads and the image matches it: ports, volumes, TFTP root, health check', () => {
  const stage = finalStage();
  const httpPort = parseListen(imageConfig.http.listen).port;
  const tftpPorts = imageConfig.tftp.listen.map((l) => parseListen(l).port);
  assert.equal(imageConfig.dataDir, '/var/lib/railyard');
  assert.equal(tftpPorts, [69]);
  assert.ok(stage.includes(`EXPOSE ${httpPort}/tcp 69/udp`), 'EXPOSE');
  assert.ok(stage.includes(`VOLUME ["/etc/railyard", "${imageConfig.dataDir}"]`), 'VOLUME');
  assert.match(
    DOCKERFILE,
    `cp -L /usr/lib/ipxe/undionly.kpxe /usr/lib/ipxe/ipxe.efi /usr/lib/ipxe/snponly.efi ${imageConfig.tftp.root}/`,
  );
  assert.match(DOCKERFILE, `fetch('http://127.0.0.1:${httpPort}/healthz')`);
  assert.ok(stage.includes('COPY contrib/docker/railyard.yaml /etc/railyard/railyard.yaml'));
  assert.ok(stage.includes('CMD ["serve", "--config", "/etc/railyard/railyard.yaml"]'));
  const users = stage.filter((l) => l.startsWith('USER '));
  assert.equal(users, ['USER railyard']);
  assert.match(DOCKERFILE, 'setcap cap_net_bind_service=+ep /usr/local/bin/node');
  // The mirror's derivation worker pipes through them (the compose lab runs it in the image).
  assert.ok(
    stage.some((l) => /apt-get install .*\bzstd lbzip2\b/.test(l)),
    'zstd and lbzip2 in the final stage',
  );
});

test('.dockerignore keeps what the image runs', () => {
  const ignored = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim());
  for (const kept of [
    'server',
    'bin',
    'assets',
    'contrib',
    'package.json',
    'package-lock.json',
    '*.json',
    '*',
  ]) {
    assert.not.ok(ignored.includes(kept), `.dockerignore must not exclude ${kept}`);
  }
});

test('systemd unit: user, capability, state directory as dataDir, reload', () => {
  for (const line of [
    'User=railyard',
    'AmbientCapabilities=CAP_NET_BIND_SERVICE',
    'CapabilityBoundingSet=CAP_NET_BIND_SERVICE',
    'StateDirectory=railyard',
    'ExecReload=/bin/kill -HUP $MAINPID',
  ]) {
    assert.ok(UNIT.split('\n').includes(line), line);
  }
  assert.match(UNIT, /^Environment=.*RAILYARD_DATA_DIR=\/var\/lib\/railyard/m);
  assert.match(UNIT, /^ExecStart=.* serve --config \/etc\/railyard\/railyard\.yaml$/m);
});

const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
(analyze ? test : test.skip)('systemd-analyze verify finds no unknown keys or bad values', () => {
  const run = spawnSync('systemd-analyze', ['verify', UNIT_PATH], { encoding: 'utf8', timeout: 30_000 });
  const complaints = run.stderr.split('\n').filter((l) => l.includes('railyard.service:'));
  assert.equal(complaints, [], run.stderr);
});

test.run();
