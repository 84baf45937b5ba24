// The update store on PostgreSQL (a throwaway cluster): the same answers as SQLite's for the
// same calls, and the exclusive decisions across instances: 4 stores racing for 5 rollout
// slots never get more than 5; racing new unknown clients never exceed maxUnknown; binding;
// the schema-newer check.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../errors.ts';
import { canonicalMac } from '../machines/identity.ts';
import { tempDir } from '../testing/fixtures.ts';
import { PG_PASSWORD, type PgCluster, startPostgres } from '../testing/postgres.ts';
import type { UpdateClient, UpdateStore } from './client.ts';
import { openPgUpdateStore } from './pg-store.ts';
import { openSqliteUpdateStore } from './sqlite-store.ts';

let cluster: PgCluster;
let n = 0;
const tmp = tempDir('railyard-pg-updates-');
const fresh = () => `u${process.pid}_${++n}`;
const open = (schema: string) => openPgUpdateStore({ url: cluster.url(), schema });
const EPOCH = '2000-01-01T00:00:00.000Z';

test.before(async () => {
  cluster = await startPostgres();
});
test.after(async () => {
  await cluster?.stop();
  tmp.cleanup();
});

function client(machineId: string, over: Partial<UpdateClient> = {}): UpdateClient {
  const now = '2026-06-01T00:00:00.000Z';
  return {
    machineId,
    mac: null,
    group: 'rack',
    track: 'stable',
    board: 'amd64-usr',
    oem: '',
    version: '4230.2.2',
    target: '4230.2.3',
    state: 'offered',
    slotSince: now,
    lastCheck: now,
    lastResult: 'offered',
    errorCode: null,
    ip: '10.0.0.9',
    firstSeen: now,
    lastSeen: now,
    ...over,
  };
}

/** The same calls on any store; what it answers. */
async function script(s: UpdateStore) {
  const out: unknown[] = [];
  out.push(await s.bind('a'.repeat(32), canonicalMac('52:54:00:00:00:01'), '2026-06-01T00:00:00Z'));
  out.push(await s.save(client('a'.repeat(32), { mac: canonicalMac('52:54:00:00:00:01'), group: 'g1' }), 10));
  out.push(await s.save(client('b'.repeat(32), { version: '4230.2.1', slotSince: null, state: 'idle' }), 10));
  out.push(await s.takeSlot(client('c'.repeat(32), { group: 'g1' }), 2, EPOCH));
  out.push(await s.takeSlot(client('d'.repeat(32), { group: 'g1' }), 2, EPOCH), 'the third in g1 is refused');
  out.push(
    await s.bind('a'.repeat(32), canonicalMac('52:54:00:00:00:02'), '2026-06-02T00:00:00Z'),
    'taken by another MAC',
  );
  out.push(
    await s.bind('e'.repeat(32), canonicalMac('52:54:00:00:00:01'), '2026-06-03T00:00:00Z'),
    'a reinstall',
  );
  out.push(
    await s.macFor('e'.repeat(32)),
    await s.get('a'.repeat(32)),
    await s.forMac(canonicalMac('52:54:00:00:00:01')),
  );
  out.push(await s.list(), await s.list({ offset: 1, limit: 1 }), await s.summary());
  out.push(await s.slotsInUse('g1', EPOCH), (await s.targets('amd64-usr', EPOCH)).sort());
  await s.setPaused('g1', true, '2026-06-04T00:00:00Z', 'admin');
  await s.setPaused('g1', true, '2026-06-05T00:00:00Z', 'admin');
  out.push(await s.pauses());
  await s.setPaused('g1', false, '2026-06-06T00:00:00Z', 'admin');
  out.push(await s.pauses());
  return out;
}

test('PostgreSQL answers every call as SQLite does', async () => {
  const sqlite = openSqliteUpdateStore(`${tmp.dir}/state.db`);
  const pg = await open(fresh());
  const [a, b] = [await script(sqlite), await script(pg)];
  const normal = (x: unknown[]) =>
    JSON.parse(JSON.stringify(x), (_k, v) =>
      v && typeof v === 'object' && 'versions' in v
        ? {
            ...v,
            versions: [...v.versions].sort((p: { version: string }, q: { version: string }) =>
              p.version < q.version ? -1 : 1,
            ),
          }
        : v,
    );
  assert.equal(normal(b), normal(a));
  await Promise.all([sqlite.close(), pg.close()]);
});

test('4 instances racing for 5 slots of one rollout never get more than 5', async () => {
  const schema = fresh();
  const stores = await Promise.all([1, 2, 3, 4].map(() => open(schema)));
  const results = await Promise.all(
    stores.flatMap((s, p) =>
      Array.from({ length: 10 }, (_, i) => s.takeSlot(client(`${p}${i}`.padStart(32, '0')), 5, EPOCH)),
    ),
  );
  assert.is(results.filter(Boolean).length, 5);
  assert.is(await (stores[0] as UpdateStore).slotsInUse('rack', EPOCH), 5);
  await Promise.all(stores.map((s) => s.close()));
});

test('racing new unknown clients never exceed maxUnknown (slot holders are never evicted)', async () => {
  const schema = fresh();
  const stores = await Promise.all([1, 2, 3].map(() => open(schema)));
  const first = stores[0] as UpdateStore;
  await first.save(client('f'.repeat(32)), 3); // holds a slot: never evicted
  await Promise.all(
    stores.flatMap((s, p) =>
      Array.from({ length: 8 }, (_, i) =>
        s.save(client(`${p}${i}`.padStart(32, '1'), { slotSince: null }), 3),
      ),
    ),
  );
  const all = await first.list();
  assert.is(all.length, 3, 'bounded');
  assert.ok(
    all.some((c) => c.machineId === 'f'.repeat(32)),
    'the slot holder stayed',
  );
  await Promise.all(stores.map((s) => s.close()));
});

test('update tables from a newer railyard refuse to open, naming the database without its password', async () => {
  const schema = fresh();
  await (await open(schema)).close();
  const pgx = await import('pg');
  const c = new pgx.default.Client({ connectionString: cluster.url(), options: `-c search_path=${schema}` });
  await c.connect();
  await c.query('INSERT INTO update_schema (version) VALUES (99)');
  await c.end();
  try {
    await open(schema);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.match(
      (err as Error).message,
      'update tables schema version 99 is newer than this railyard supports',
    );
    assert.not.match((err as Error).message, PG_PASSWORD);
  }
});

test.run();
