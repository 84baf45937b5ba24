// The docker-compose lab (docker-compose.yml, contrib/lab/), checked without a Docker engine
// (`npm run test:compose`, e2e/compose/, runs it for real): the compose-spec JSON schema
// (dclint's copy, Ajv) and, when Debian's docker-compose 1.29 is installed (.ci/run installs
// it), `docker-compose config -q`, also with the stand-in override; and its parts against
// railyard: config and machines load, the generated proxyDHCP config passes `dnsmasq --test`,
// and every node runs the E2E suite's node runner.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { loadMachines } from './catalog/load.ts';
import { loadConfig } from './config.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const COMPOSE_TEXT = readFileSync(COMPOSE_FILE, 'utf8');
const compose = YAML.parse(COMPOSE_TEXT, { merge: true }) as {
  services: Record<string, { command?: string[]; networks?: unknown; build?: { dockerfile?: string } }>;
};
const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

function schemaValidator() {
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve('dclint/package.json')), 'schemas/compose.schema.json');
  const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete schema['$schema']; // draft-07 under an id Ajv does not know
  const ajv = new Ajv({ allErrors: true, strict: false });
  (addFormatsModule as unknown as (a: Ajv) => void)(ajv);
  return ajv.compile(schema);
}

test('docker-compose.yml (YAML merge keys resolved) matches the compose-spec schema; a misspelt key is caught', () => {
  const validate = schemaValidator();
  assert.ok(validate(YAML.parse(COMPOSE_TEXT, { merge: true })), JSON.stringify(validate.errors, null, 1));
  const broken = YAML.parse(COMPOSE_TEXT, { merge: true });
  broken.services.railyard.enviroment = ['X=1'];
  assert.not.ok(validate(broken), 'the validator rejects an unknown service key');
});

test('docker-compose config -q (Debian docker-compose 1.29) accepts the file', () => {
  if (!has('docker-compose')) {
    console.log('  skipped docker-compose config: docker-compose not installed');
    return;
  }
  const r = spawnSync('docker-compose', ['-f', COMPOSE_FILE, 'config', '-q'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
});

test('docker-compose config accepts the stand-in override and requires its STANDIN_* variables', () => {
  if (!has('docker-compose')) {
    console.log('  skipped docker-compose config: docker-compose not installed');
    return;
  }
  const args = ['-f', COMPOSE_FILE, '-f', join(ROOT, 'contrib/lab/standin.yml'), 'config'];
  const standin = {
    STANDIN_RELEASE_DIR: '/srv/r',
    STANDIN_KEY: '/srv/r/k.asc',
    STANDIN_FINGERPRINT: 'F'.repeat(40),
  };
  const r = spawnSync('docker-compose', args, { encoding: 'utf8', env: { ...process.env, ...standin } });
  assert.is(r.status, 0, r.stderr);
  const resolved = YAML.parse(r.stdout) as {
    services: Record<string, { environment?: Record<string, string> }>;
  };
  assert.is(
    resolved.services['railyard']?.environment?.['RAILYARD_MIRROR_UPSTREAM'],
    'http://standin-upstream:8000/{channel}/{board}',
  );
  const bare = { ...process.env };
  for (const k of Object.keys(standin)) delete bare[k];
  const missing = spawnSync('docker-compose', args, { encoding: 'utf8', env: bare });
  assert.is.not(missing.status, 0);
  assert.match(missing.stderr, /STANDIN_/);
});

test('the lab railyard config and machines load; publicUrl is railyard on the lab network', () => {
  const config = loadConfig({ file: join(ROOT, 'contrib/lab/railyard.yaml'), env: {} });
  assert.is(config.publicUrl, 'http://10.77.0.2:8080');
  assert.match(COMPOSE_TEXT, /ipv4_address: 10\.77\.0\.2\b/);
  const machines = loadMachines(join(ROOT, 'contrib/lab/machines'));
  assert.ok(machines.profiles.get('lab')?.kernelArgs.includes('console=ttyS0,115200n8'), 'serial console');
});

test('every node runs scripts/lab/node.sh (the E2E node runner) with distinct MACs', () => {
  const dockerfile = readFileSync(join(ROOT, 'contrib/lab/node.Dockerfile'), 'utf8');
  assert.match(dockerfile, /ENTRYPOINT \["\/app\/scripts\/lab\/node\.sh", "--uplink", "eth0"\]/);
  const nodes = Object.entries(compose.services).filter(([name]) => name.startsWith('node'));
  assert.ok(nodes.length >= 3, 'three nodes');
  const macs = nodes.map(([, s]) => s.command?.[s.command.indexOf('--mac') + 1]);
  assert.is(new Set(macs).size, nodes.length, `distinct MACs: ${macs.join(' ')}`);
  for (const [name, s] of nodes) assert.is(s.build?.dockerfile, 'contrib/lab/node.Dockerfile', name);
});

test('the proxyDHCP config the lab generates passes dnsmasq --test', () => {
  if (!has('dnsmasq')) {
    console.log('  skipped dnsmasq --test: dnsmasq not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'rye-compose-'));
  try {
    const out = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin/railyard.js'),
        'dhcp-config',
        '--flavor',
        'dnsmasq-proxy',
        '--config',
        join(ROOT, 'contrib/lab/railyard.yaml'),
        '--range',
        '10.77.0.100,10.77.0.199',
        '--efi-binary',
        'snponly.efi',
      ],
      { encoding: 'utf8' },
    );
    assert.is(out.status, 0, out.stderr);
    assert.match(out.stdout, /pxe-service=tag:!ipxe,x86PC,"railyard BIOS",undionly\.kpxe,10\.77\.0\.2/);
    writeFileSync(join(dir, 'proxy.conf'), out.stdout);
    const check = spawnSync('dnsmasq', ['--test', `--conf-file=${join(dir, 'proxy.conf')}`], {
      encoding: 'utf8',
    });
    assert.is(check.status, 0, check.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the lab node image installs what its runner loads: tsx's loader, a dev dependency", () => {
  const runner = readFileSync(join(ROOT, 'scripts/lab/node.sh'), 'utf8');
  assert.match(runner, 'node_modules/tsx/dist/loader.mjs');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  assert.ok(pkg.devDependencies['tsx'], 'tsx is a dev dependency (railyard runs compiled)');
  const dockerfile = readFileSync(join(ROOT, 'contrib/lab/node.Dockerfile'), 'utf8');
  const installs = dockerfile.split('\n').filter((l) => /^RUN npm ci\b/.test(l));
  assert.equal(installs.length, 1, 'one npm ci');
  assert.not.match(installs[0] as string, /--omit=dev|--production/, 'dev dependencies kept');
});

test.run();
