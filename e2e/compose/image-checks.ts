// The railyard image itself, run standalone with its own baked config: non-root, TFTP on
// port 69 through the file capability on node (and not without it), /healthz and Docker's
// health check, `railyard dhcp-config` inside it, a restart on its data volume, and
// `docker stop` draining downloads within http.drainTimeout.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../server/config.ts';
import {
  CAP_NET_BIND_SERVICE,
  containerIp,
  IMAGE,
  inspect,
  mainProcess,
  runRailyard,
  tftpGet,
  waitExit,
  waitHealthz,
} from './container.ts';
import { stopDuringDownloads } from './drain.ts';
import type { Engine } from './engine.ts';
import { waitFor } from './host.ts';
import { log } from './session.ts';

const PUBLIC = { RAILYARD_PUBLIC_URL: 'http://10.0.0.5:8080' };
// Docker's bridge networks let any user bind low ports (ip_unprivileged_port_start=0);
// put the kernel default back so only the capability can allow port 69.
const PRIVILEGED_PORTS = ['--sysctl', 'net.ipv4.ip_unprivileged_port_start=1024'];
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function checkUserTftpHealth(engine: Engine, workDir: string): Promise<void> {
  const id = await runRailyard(engine, {
    name: 'rycmp-img-serve',
    env: PUBLIC,
    flags: [...PRIVILEGED_PORTS, '--health-interval', '2s', '--health-start-period', '60s'],
  });
  try {
    const ip = await containerIp(engine, id);
    const health = await waitHealthz(ip);
    assert.is(health['status'], 'ok', JSON.stringify(health));
    const proc = await mainProcess(engine, id);
    assert.is(proc.uid, 999, 'railyard runs as uid 999 (user railyard), not root');
    assert.is(proc.capEff, 1n << CAP_NET_BIND_SERVICE, `effective capabilities ${proc.capEff.toString(16)}`);
    const got = join(workDir, 'undionly.kpxe');
    await tftpGet(ip, 'undionly.kpxe', got);
    const inImage = await engine.docker(['exec', id, 'sha256sum', '/usr/share/railyard/tftp/undionly.kpxe']);
    assert.is(
      sha256(await readFile(got)),
      inImage.split(' ')[0],
      'TFTP on 69 served the image copy of undionly.kpxe',
    );
    await tftpGet(ip, 'boot.ipxe', join(workDir, 'boot.ipxe'));
    assert.match(
      await readFile(join(workDir, 'boot.ipxe'), 'utf8'),
      /chain http:\/\/10\.0\.0\.5:8080\/boot\.ipxe/,
    );
    await checkDeriveWorker(engine, id);
    await waitFor("Docker's HEALTHCHECK to report healthy", 90, async () => {
      return (await inspect(engine, id, '{{.State.Health.Status}}')) === 'healthy';
    });
    log(
      `image: uid ${proc.uid}, CapEff ${proc.capEff.toString(16)}, TFTP 69 ok, /healthz ${health['version']}, healthy`,
    );
  } finally {
    await engine.docker(['rm', '-f', id]);
  }
  await expectNoPort69(
    engine,
    'rycmp-img-nonewprivs',
    ['--security-opt', 'no-new-privileges'],
    /EACCES[^\n]*:69\b|:69\b[^\n]*EACCES/,
  );
  // node carries the capability as "effective": without it in the bounding set, exec fails
  await expectNoPort69(
    engine,
    'rycmp-img-nocap',
    ['--cap-drop', 'NET_BIND_SERVICE'],
    /'node': Operation not permitted/,
  );
}

// In the container, as its user: zstd-compress 1 MiB, then run the compiled derivation worker's
// round trip on it through dist/server/mirror/derive-spawn.js (as the mirror does).
const DERIVE_SCRIPT = `
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
const dir = mkdtempSync('/tmp/derive-');
const data = Buffer.alloc(1 << 20, 'railyard');
writeFileSync(dir + '/w', data);
execFileSync('zstd', ['-q', dir + '/w', '-o', dir + '/w.zst']);
const { runWorker, workerArgv } = await import('/app/dist/server/mirror/derive-spawn.js');
const out = await runWorker({ kind: 'roundtrip', files: [dir + '/w.zst'] });
console.log(JSON.stringify({ argv: workerArgv(), decoded: out.result.decoded,
  expected: { size: data.length, sha256: createHash('sha256').update(data).digest('hex') } }));
`;

/** The image runs compiled code only: no sources, no tsx; the derivation worker runs from dist/. */
async function checkDeriveWorker(engine: Engine, id: string): Promise<void> {
  await engine.docker(['exec', id, 'sh', '-c', 'test ! -e /app/server && test ! -e /app/node_modules/tsx']);
  const out = await engine.docker(['exec', id, 'node', '--input-type=module', '-e', DERIVE_SCRIPT]);
  const r = JSON.parse(out.trim().split('\n').at(-1) ?? '') as {
    argv: string[];
    decoded: unknown[];
    expected: unknown;
  };
  assert.equal(r.argv, ['/app/dist/server/mirror/derive-worker.js']);
  assert.equal(r.decoded, [r.expected], 'the worker decoded the zstd file in the image');
  log('image: no sources, no tsx; the derivation worker runs from dist/ (zstd round trip ok)');
}

/** Without the capability the image must not serve TFTP on 69, and must say why. */
async function expectNoPort69(engine: Engine, name: string, flags: string[], why: RegExp): Promise<void> {
  const id = await runRailyard(engine, { name, env: PUBLIC, flags: [...PRIVILEGED_PORTS, ...flags] });
  try {
    const code = await waitExit(engine, id, 90);
    const r = engine.dockerResult(['logs', id]);
    const out = `${r.stdout}${r.stderr}`;
    assert.is.not(code, 0, `${flags.join(' ')}: railyard exited 0`);
    assert.match(out, why, `${flags.join(' ')}: expected ${why} in:\n${out}`);
    log(`image with ${flags.join(' ')}: exit ${code}, ${why.source}`);
  } finally {
    await engine.docker(['rm', '-f', id]);
  }
}

export async function checkDhcpConfig(engine: Engine): Promise<void> {
  // the README's command, word for word
  const r = engine.dockerResult([
    'run',
    '--rm',
    '-e',
    'RAILYARD_PUBLIC_URL=http://10.0.0.5:8080',
    IMAGE,
    'dhcp-config',
    '--config',
    '/etc/railyard/railyard.yaml',
    '--flavor',
    'dnsmasq-proxy',
    '--range',
    '10.0.0.100,10.0.0.199',
  ]);
  assert.is(r.code, 0, r.stderr);
  // (the CLI's own "WARNING: IPv4 forwarding is disabled" is this engine's --ip-forward=false)
  const warnings = r.stderr.replace(/^WARNING: IPv4 forwarding is disabled.*\n?/m, '').trim();
  assert.is(warnings, '', 'no warnings from railyard (the iPXE binaries are in the TFTP root)');
  assert.match(r.stdout, /pxe-service=tag:!ipxe,x86PC,"railyard BIOS",undionly\.kpxe,10\.0\.0\.5/);
  assert.match(r.stdout, /pxe-service=tag:ipxe,x86PC,"railyard iPXE",http:\/\/10\.0\.0\.5:8080\/boot\.ipxe/);
  const test = engine.dockerResult(
    [
      'run',
      '--rm',
      '-i',
      '--entrypoint',
      'sh',
      'railyard-lab-dnsmasq',
      '-c',
      'cat > /tmp/p.conf && dnsmasq --test --conf-file=/tmp/p.conf',
    ],
    r.stdout,
  );
  assert.is(test.code, 0, `dnsmasq --test: ${test.stderr}`);
}

/** The image's baked config, read with railyard's own loader. */
async function bakedConfig(engine: Engine, workDir: string) {
  const file = join(workDir, 'baked-railyard.yaml');
  await writeFile(
    file,
    await engine.docker(['run', '--rm', '--entrypoint', 'cat', IMAGE, '/etc/railyard/railyard.yaml']),
  );
  return loadConfig({ file, env: {} });
}

export async function checkRestartAndDrain(engine: Engine, workDir: string): Promise<void> {
  const drainMs = (await bakedConfig(engine, workDir)).http.drainTimeout;
  const volume = 'rycmp-img-data';
  await engine.docker(['volume', 'create', volume]);
  try {
    // seeded as the image's user, through the image's own volume (its ownership comes from the image)
    await engine.docker([
      ...['run', '--rm', '-v', `${volume}:/var/lib/railyard`, '--entrypoint', 'sh', IMAGE, '-c'],
      'mkdir -p /var/lib/railyard/assets && cd /var/lib/railyard/assets && head -c 6M /dev/urandom > short.bin && head -c 96M /dev/urandom > long.bin && sha256sum short.bin',
    ]);
    const id = await runRailyard(engine, {
      name: 'rycmp-img-drain',
      env: PUBLIC,
      volumes: [`${volume}:/var/lib/railyard`],
    });
    try {
      await drainAndRestart(engine, id, workDir, drainMs);
    } finally {
      await engine.docker(['rm', '-f', id]);
    }
  } finally {
    await engine.docker(['volume', 'rm', '-f', volume]);
  }
}

async function drainAndRestart(engine: Engine, id: string, workDir: string, drainMs: number): Promise<void> {
  const ip = await containerIp(engine, id);
  await waitHealthz(ip);
  const shortSha = (
    await engine.docker(['exec', id, 'sha256sum', '/var/lib/railyard/assets/short.bin'])
  ).split(' ')[0];
  const r = await stopDuringDownloads(engine, id, ip, { short: 'short.bin', long: 'long.bin', dir: workDir });
  const drain = drainMs / 1000;
  log(
    `docker stop with 2 downloads in flight: ${r.stopSeconds.toFixed(1)} s (http.drainTimeout ${drain} s), exit ${r.exitCode}; ` +
      `short ${r.short.bytes} B (curl ${r.short.code}), long cut at ${r.long.bytes} B (curl ${r.long.code})`,
  );
  assert.is(r.exitCode, 0, 'railyard exited 0 on SIGTERM (137 = killed by Docker after its grace period)');
  assert.ok(
    r.stopSeconds >= drain - 1.5,
    `stopped after ${r.stopSeconds} s: did not wait for the long download`,
  );
  assert.ok(r.stopSeconds <= drain + 5, `stopped after ${r.stopSeconds} s: drain longer than ${drain} s`);
  assert.is(r.short.code, 0, 'the short download completed during the drain');
  assert.is(sha256(await readFile(join(workDir, 'short.out'))), shortSha, 'and arrived intact');
  assert.is(r.long.code, 56, 'the long download was reset at the drain deadline (curl 56), not left hanging');
  assert.ok(r.long.bytes < 96 * 1024 * 1024, 'long download incomplete');
  assert.ok(r.refusedDuringDrain, 'new connections are refused while draining');
  const logs = engine.dockerResult(['logs', id]).stderr; // railyard logs JSON to stderr
  assert.match(
    logs,
    new RegExp(`"drainMs":${drainMs}\\b.*shutting down|shutting down.*"drainMs":${drainMs}\\b`),
  );
  // the same container again, on the same volume: its data is still there
  await engine.docker(['start', id]);
  await waitHealthz(await containerIp(engine, id));
  const again = await fetch(`http://${await containerIp(engine, id)}:8080/assets/short.bin`);
  assert.is(sha256(Buffer.from(await again.arrayBuffer())), shortSha, 'the data volume survived the restart');
}
