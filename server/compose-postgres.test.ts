// The compose lab's PostgreSQL variant (contrib/lab/postgres.yml over docker-compose.yml):
// the merged file against the compose-spec schema and `docker-compose config`, both railyard
// instances on one database URL and admin token; and the variant's PostgreSQL entrypoint run
// for real (as nobody, on loopback) with railyard's store opening the database it creates.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { canonicalMac } from './machines/identity.ts';
import { openPgStore } from './store/pg.ts';
import { havePostgres } from './testing/postgres.ts';
import { freePort } from './testing/spawn-railyard.ts';
import { isRoot, unprivileged } from './testing/unprivileged.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FILES = ['-f', join(ROOT, 'docker-compose.yml'), '-f', join(ROOT, 'contrib/lab/postgres.yml')];
const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

interface Service {
  environment?: Record<string, string | null>;
  networks?: Record<string, { ipv4_address?: string } | null>;
  depends_on?: Record<string, { condition: string }>;
}

test('postgres.yml over docker-compose.yml: docker-compose config accepts it, the result matches the schema', () => {
  if (!has('docker-compose')) {
    console.log('  skipped docker-compose config: docker-compose not installed');
    return;
  }
  const r = spawnSync('docker-compose', [...FILES, 'config'], {
    encoding: 'utf8',
    env: { ...process.env, RAILYARD_ADMIN_TOKEN: 'x'.repeat(20) },
  });
  assert.is(r.status, 0, r.stderr);
  const merged = YAML.parse(r.stdout) as { services: Record<string, Service> };
  const require = createRequire(import.meta.url);
  const schema = JSON.parse(
    readFileSync(
      join(dirname(require.resolve('dclint/package.json')), 'schemas/compose.schema.json'),
      'utf8',
    ),
  ) as Record<string, unknown>;
  delete schema['$schema'];
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  assert.ok(validate(merged), JSON.stringify(validate.errors, null, 1));
  const a = merged.services['railyard'] as Service;
  const b = merged.services['railyard-b'] as Service;
  assert.ok(merged.services['postgres'], 'a postgres service');
  for (const s of [a, b]) {
    assert.is(s.environment?.['RAILYARD_STATE_DRIVER'], 'postgres');
    assert.match(
      String(s.environment?.['RAILYARD_STATE_URL']),
      /^postgres:\/\/railyard:[^@]+@postgres:5432\/railyard$/,
    );
    assert.is(s.depends_on?.['postgres']?.condition, 'service_healthy');
    assert.is(
      s.environment?.['RAILYARD_ADMIN_TOKEN'],
      'x'.repeat(20),
      'one admin token: sessions work on both',
    );
  }
  assert.is(a.networks?.['lab']?.ipv4_address, '10.77.0.2');
  assert.is(b.networks?.['lab']?.ipv4_address, '10.77.0.5');
  assert.is(b.environment?.['RAILYARD_PUBLIC_URL'], 'http://10.77.0.5:8080');
});

test('the variant’s PostgreSQL entrypoint creates a cluster railyard opens with the password', async () => {
  if (!havePostgres) {
    console.log('  skipped: postgresql not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'railyard-lab-pg-'));
  const port = await freePort();
  const password = 'lab-test-pw-71c2';
  if (isRoot) chownSync(dir, 65534, 65534);
  // As root: the entrypoint runs as nobody, which may not reach the checkout (a clone in a 0700
  // directory): it sees the checkout through a bind mount in its own mount namespace.
  const nobody = isRoot ? unprivileged() : undefined;
  const script = join(ROOT, 'contrib/lab/postgres-entrypoint.sh');
  const argv = nobody ? [...nobody.wrap, '--pdeathsig=SIGQUIT', nobody.at(script)] : [script];
  let child: ChildProcess | undefined;
  try {
    child = spawn(argv[0] as string, argv.slice(1), {
      cwd: dir,
      env: {
        PATH: process.env['PATH'],
        PGDATA: join(dir, 'data'),
        PGPORT: String(port),
        POSTGRES_LISTEN: '127.0.0.1',
        POSTGRES_PASSWORD: password,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
    });
    const url = `postgres://railyard:${password}@127.0.0.1:${port}/railyard`;
    const t0 = Date.now();
    for (;;) {
      try {
        const store = await openPgStore({ url, connectTimeoutMs: 1000 });
        await store.recordEvent(canonicalMac('52:54:00:77:00:01'), {
          type: 'install-script-served',
          source: 'http',
        });
        assert.is((await store.listMachines()).length, 1);
        await store.close();
        break;
      } catch (err) {
        if (Date.now() - t0 > 60_000 || child.exitCode !== null) throw new Error(`${err}\n${log}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    try {
      await openPgStore({ url: url.replace(password, 'wrong'), connectTimeoutMs: 1000 });
      assert.unreachable('a wrong password is refused');
    } catch (err) {
      assert.match(String(err), 'password authentication failed');
    }
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGINT');
      await exited;
    }
    nobody?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
