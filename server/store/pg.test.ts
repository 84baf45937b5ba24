// The PostgreSQL store against a real PostgreSQL 15 (a throwaway cluster): the whole store
// contract, plus what only a shared database has: concurrent migrations, the schema-version
// check, instances sharing the token secret and exclusive decisions, the change feed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, StorageError } from '../errors.ts';
import { canonicalMac } from '../machines/identity.ts';
import { PG_PASSWORD, type PgCluster, startPostgres } from '../testing/postgres.ts';
import { newAttempt } from './fixtures/attempt.ts';
import { storeContract } from './fixtures/contract.ts';
import { fleetContract } from './fixtures/fleet-contract.ts';
import { poolContract, poolMachines, selection } from './fixtures/pool-contract.ts';
import { openPgStore } from './pg.ts';
import { PG_SCHEMA_VERSION } from './pg-migrations.ts';
import { createPool } from './pg-pool.ts';
import type { StateStore, StoreLimits } from './state-store.ts';

let cluster: PgCluster;
let schemas = 0;
const fresh = () => `t${process.pid}_${++schemas}`;
const open = (schema: string, limits?: StoreLimits) =>
  openPgStore({ url: cluster.url(), schema, ...(limits ? { limits } : {}) });

test.before(async () => {
  cluster = await startPostgres();
});
test.after(async () => {
  await cluster?.stop();
});

storeContract(test, (limits) => open(fresh(), limits));
fleetContract(test, () => open(fresh()));
// The pool contract: the same claims, exactly once (FOR UPDATE SKIP LOCKED), on PostgreSQL.
poolContract(test, () => open(fresh()));

const MAC = canonicalMac('52:54:00:00:09:01');
const served = { type: 'install-script-served' as const, source: 'http' as const };

test('pg: four instances migrating one database at once; each sees the same schema', async () => {
  const schema = fresh();
  const stores = await Promise.all([1, 2, 3, 4].map(() => open(schema)));
  const pool = createPool({ url: cluster.url(), max: 1, schema });
  const { rows } = await pool.query('SELECT version FROM railyard_schema');
  assert.equal(rows, [{ version: PG_SCHEMA_VERSION }], 'one row, migrated once');
  await pool.end();
  await Promise.all(stores.map((s) => s.close()));
});

test('pg: a database from a newer railyard is a clear startup error, without the password', async () => {
  const schema = fresh();
  await (await open(schema)).close();
  const pool = createPool({ url: cluster.url(), max: 1, schema });
  await pool.query('UPDATE railyard_schema SET version = $1', [PG_SCHEMA_VERSION + 1]);
  await pool.end();
  try {
    await open(schema);
    assert.unreachable('refused');
  } catch (err) {
    assert.instance(err, ConfigError);
    const message = (err as Error).message;
    assert.match(
      message,
      `schema version ${PG_SCHEMA_VERSION + 1} is newer than this railyard supports (${PG_SCHEMA_VERSION})`,
    );
    assert.match(message, `postgres://127.0.0.1:${cluster.port}/railyard`);
    assert.not.match(message, PG_PASSWORD);
  }
});

test('pg: an unreachable or refusing database is a startup error naming it, never the password', async () => {
  for (const url of [
    cluster.url().replace(`:${cluster.port}/`, ':1/'),
    cluster.url().replace(PG_PASSWORD, 'not-the-password'),
  ]) {
    try {
      await openPgStore({ url, connectTimeoutMs: 2000 });
      assert.unreachable('refused');
    } catch (err) {
      assert.instance(err, ConfigError);
      assert.match(
        (err as Error).message,
        /state\.url \(postgres:\/\/127\.0\.0\.1:\d+\/railyard\): cannot open/,
      );
      assert.not.match((err as Error).message, PG_PASSWORD);
      assert.not.match((err as Error).message, 'not-the-password');
    }
  }
});

test('pg: instances share one token secret (created once) and see each other’s writes', async () => {
  const schema = fresh();
  const [a, b] = (await Promise.all([open(schema), open(schema)])) as [StateStore, StateStore];
  const [sa, sb] = await Promise.all([a.tokenSecret?.(), b.tokenSecret?.()]);
  assert.ok(sa && sa.length === 32);
  assert.equal(sa, sb);
  await a.openAttempt(MAC, newAttempt(), served);
  assert.is((await b.openAttemptOf(MAC))?.state, 'served');
  await Promise.all([a.close(), b.close()]);
});

test('pg: 4 instances × 25 concurrent install decisions for one machine: exactly one open attempt', async () => {
  const schema = fresh();
  const stores = await Promise.all([1, 2, 3, 4].map(() => open(schema)));
  await Promise.all(
    stores.flatMap((s) => Array.from({ length: 25 }, () => s.openAttempt(MAC, newAttempt(), served))),
  );
  const all = await (stores[0] as StateStore).attempts(MAC);
  assert.is(all.length, 100);
  assert.is(all.filter((x) => x.closedAt === null).length, 1);
  assert.is(all[0]?.closedAt, null, 'the newest is the open one');
  const events = await (stores[0] as StateStore).events(MAC);
  assert.is(events.length, 100);
  assert.is(new Set(events.map((e) => e.attemptId)).size, 100, 'each decision attributed to its own attempt');
  await Promise.all(stores.map((s) => s.close()));
});

test('pg: the change feed tells other instances which machine changed', async () => {
  const schema = fresh();
  const [a, b] = (await Promise.all([open(schema), open(schema)])) as [StateStore, StateStore];
  const seen: string[] = [];
  const own: string[] = [];
  b.changes?.subscribe((c) => seen.push(c ? `${c.mac}#${c.eventId}` : 'reset'));
  a.changes?.subscribe((c) => own.push(c ? `${c.mac}#${c.eventId}` : 'reset'));
  const t0 = Date.now();
  const { event } = await a.recordEvent(MAC, served);
  const want = `${MAC}#${event.id}`;
  while (!seen.includes(want) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
  assert.ok(seen.includes(want), `notified (${seen.join(',')})`);
  assert.ok(Date.now() - t0 < 1000, `within 1 s (${Date.now() - t0} ms)`);
  await new Promise((r) => setTimeout(r, 200));
  assert.not.ok(own.includes(want), 'an instance is not told about its own writes');
  await Promise.all([a.close(), b.close()]);
});

test('pg: database stopped and started again: StorageError meanwhile, then it recovers with no manual step', async () => {
  const schema = fresh();
  const store = await open(schema);
  const resets: (string | undefined)[] = [];
  store.changes?.subscribe((c) => resets.push(c?.mac));
  await store.recordEvent(MAC, served);
  await cluster.halt();
  try {
    try {
      await store.recordEvent(MAC, { type: 'install-started', source: 'installer' });
      assert.unreachable('the database is down');
    } catch (err) {
      assert.instance(err, StorageError);
    }
    try {
      await store.ping?.();
      assert.unreachable('ping fails');
    } catch (err) {
      assert.instance(err, StorageError);
    }
  } finally {
    await cluster.start();
  }
  await store.ping?.();
  await store.recordEvent(MAC, { type: 'install-started', source: 'installer' });
  assert.equal(
    (await store.events(MAC)).map((e) => e.type),
    ['install-script-served', 'install-started'],
  );
  const t0 = Date.now();
  while (!resets.includes(undefined) && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 50));
  assert.ok(resets.includes(undefined), 'the feed reconnected and said "anything may have changed"');
  await store.close();
});

test('pg: two instances claim from one pool concurrently: each of 10 machines exactly once', async () => {
  const schema = fresh();
  const [one, two] = await Promise.all([open(schema), open(schema)]);
  await poolMachines(one as StateStore, 10);
  const claims = Array.from({ length: 30 }, (_, i) =>
    (i % 2 ? one : two)!.pool.claim(
      selection({ claim: { profile: `p${i}`, metadata: {}, at: new Date().toISOString() } }),
    ),
  );
  const won = (await Promise.allSettled(claims)).flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  assert.is(won.length, 10);
  assert.is(new Set(won.map((m) => m.mac)).size, 10, 'no machine claimed twice across instances');
  await Promise.all([one?.close(), two?.close()]);
});

test.run();
