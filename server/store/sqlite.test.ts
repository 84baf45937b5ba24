import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../errors.ts';
import { canonicalMac } from '../machines/identity.ts';
import { storeContract } from './fixtures/contract.ts';
import { fleetContract } from './fixtures/fleet-contract.ts';
import { poolContract } from './fixtures/pool-contract.ts';
import { SCHEMA_VERSION } from './migrations.ts';
import { openStateStore } from './open.ts';
import { openSqliteStore } from './sqlite.ts';

const run = promisify(execFile);
const MAC = canonicalMac('52:54:00:00:00:01');
const dirs: string[] = [];
const tempDb = () => {
  const dir = mkdtempSync(join(tmpdir(), 'railyard-state-'));
  dirs.push(dir);
  return join(dir, 'state.db');
};

storeContract(test, (limits) => openSqliteStore(':memory:', undefined, limits));
fleetContract(test, () => openSqliteStore(':memory:'));
poolContract(test, () => openSqliteStore(':memory:'));

test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('a file database survives close and reopen (WAL, schema version set)', async () => {
  const file = tempDb();
  let store = openSqliteStore(file, () => new Date('2026-01-01T00:00:00Z'));
  await store.recordEvent(MAC, { type: 'install-script-served', source: 'http' }, { profile: 'p' });
  await store.recordEvent(MAC, { type: 'install-started', source: 'installer' });
  await store.close();
  store = openSqliteStore(file);
  const m = await store.getMachine(MAC);
  assert.equal([m?.state, m?.profile, m?.firstSeen], ['installing', 'p', '2026-01-01T00:00:00.000Z']);
  await store.recordEvent(MAC, { type: 'installed', source: 'installer' });
  assert.equal(
    (await store.events(MAC)).map((e) => e.type),
    ['install-script-served', 'install-started', 'installed'],
  );
  await store.close();
  const db = new Database(file, { readonly: true });
  assert.is(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.is(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  db.close();
});

test('a database from a newer railyard is a clear startup error', () => {
  const file = tempDb();
  const db = new Database(file);
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  assert.throws(
    () => openSqliteStore(file),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.file === file &&
      err.message.includes(file) &&
      err.message.includes(`version ${SCHEMA_VERSION + 1}`) &&
      err.message.includes(`(${SCHEMA_VERSION})`),
  );
});

test('an unopenable path is a ConfigError naming it', () => {
  assert.throws(
    () => openSqliteStore('/nonexistent/dir/state.db'),
    (err: unknown) => err instanceof ConfigError && err.message.includes('/nonexistent/dir/state.db'),
  );
});

test('openStateStore creates the data dir and opens the configured file', async () => {
  const file = join(tempDb().replace(/state\.db$/, ''), 'nested', 'state.db');
  const store = await openStateStore({ driver: 'sqlite', path: file });
  await store.recordEvent(MAC, { type: 'install-started', source: 'installer' });
  await store.close();
  assert.ok(existsSync(file));
});

test('4 processes × 25 machines write the same file concurrently', async () => {
  const file = tempDb();
  openSqliteStore(file).close();
  const writer = new URL('./fixtures/writer.ts', import.meta.url).pathname;
  const macs = Array.from({ length: 100 }, (_, i) => `52:54:00:00:02:${i.toString(16).padStart(2, '0')}`);
  await Promise.all(
    [0, 1, 2, 3].map((p) =>
      run(process.execPath, ['--import', 'tsx', writer, file, ...macs.slice(p * 25, p * 25 + 25)]),
    ),
  );
  const store = openSqliteStore(file);
  const machines = await store.listMachines();
  assert.is(machines.length, 100);
  assert.ok(machines.every((m) => m.state === 'installed'));
  for (const mac of macs)
    assert.equal(
      (await store.events(canonicalMac(mac))).map((e) => e.type),
      ['install-script-served', 'install-started', 'progress', 'installed'],
    );
  await store.close();
});

test.run();
