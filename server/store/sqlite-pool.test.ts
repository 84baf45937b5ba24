import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../errors.ts';
import type { Mac } from '../machines/identity.ts';
import { poolMachines, selection } from './fixtures/pool-contract.ts';
import { openSqliteStore } from './sqlite.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'railyard-pool-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('4 processes claim from one pool file concurrently: each of 40 machines exactly once', async () => {
  const file = join(dir, 'claims.db');
  const store = openSqliteStore(file);
  await poolMachines(store, 40);
  await store.close();
  const claimer = new URL('./fixtures/claimer.ts', import.meta.url).pathname;
  const outs = await Promise.all(
    ['a', 'b', 'c', 'd'].map((name) => run(process.execPath, ['--import', 'tsx', claimer, file, name])),
  );
  const won = outs.flatMap((o) => o.stdout.split('\n').filter(Boolean));
  assert.is(won.length, 40, 'every machine claimed');
  assert.is(new Set(won).size, 40, 'none twice');
  const again = openSqliteStore(file);
  const members = await again.pool.list();
  assert.ok(members.every((m) => m.state === 'claimed' && m.claim !== null));
  await again.close();
});

test('a claim survives closing and reopening the database', async () => {
  const file = join(dir, 'restart.db');
  const store = openSqliteStore(file);
  const [a] = await poolMachines(store, 2);
  await store.pool.claim(selection({ mac: a }));
  await store.close();
  const reopened = openSqliteStore(file);
  const m = await reopened.pool.get(a as Mac);
  assert.equal([m?.state, m?.claim?.profile, m?.claim?.metadata], ['claimed', 'web', { role: 'web' }]);
  await reopened.close();
});

test('pool tables written by a newer railyard refuse to open, naming the file', () => {
  const file = join(dir, 'newer.db');
  openSqliteStore(file).close();
  const db = new Database(file);
  db.prepare('INSERT INTO pool_schema (version) VALUES (99)').run();
  db.close();
  assert.throws(
    () => openSqliteStore(file),
    (err: unknown) =>
      err instanceof ConfigError && err.message.includes(`${file}: pool tables schema version 99`),
  );
});

test.run();
