import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GroupCommit } from './sqlite-batch.ts';

const dir = mkdtempSync(join(tmpdir(), 'railyard-batch-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function open() {
  const file = join(dir, `${n++}.db`);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  const other = new Database(file, { readonly: true });
  const insert = db.transaction((k: string, v: number) => {
    db.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run(k, v);
  });
  const rows = (c: Database.Database) =>
    (c.prepare('SELECT k, v FROM t ORDER BY k').all() as Array<{ k: string; v: number }>).map(
      (r) => `${r.k}=${r.v}`,
    );
  const batch = new GroupCommit(db, (err) => new Error(`mapped: ${(err as Error).message}`));
  return { db, other, insert, rows, batch };
}

test('writes of one turn share one transaction, in call order; a read after them sees them', async () => {
  const { db, other, insert, rows, batch } = open();
  const seen: string[] = [];
  const a = batch.write(() => insert('a', 1));
  const b = batch.write(() => {
    seen.push(`in a transaction: ${db.inTransaction}, another connection sees ${rows(other).length} rows`);
    insert('b', 2);
    return 'b done';
  });
  const read = batch.read(() => rows(db));
  assert.equal(rows(db), [], 'nothing runs before the turn ends');
  assert.is(await b, 'b done');
  await a;
  assert.equal(await read, ['a=1', 'b=2'], 'the read queued behind the writes sees them');
  assert.equal(
    seen,
    ['in a transaction: true, another connection sees 0 rows'],
    'a and b: one uncommitted transaction',
  );
  assert.equal(rows(other), ['a=1', 'b=2']);
  assert.equal(await batch.read(() => rows(db).length), 2, 'with nothing queued a read runs at once');
});

test('a write that throws is rolled back alone and rejects alone', async () => {
  const { other, insert, rows, batch } = open();
  // handled at once: the rejections come before the awaits below reach them
  const reason = async (p: Promise<unknown>) =>
    String(
      await p.then(
        () => 'resolved',
        (e: unknown) => e,
      ),
    );
  const ok = batch.write(() => insert('a', 1));
  const bad = reason(batch.write(() => insert('a', 2))); // primary key: SQLITE_CONSTRAINT
  const partial = reason(
    batch.write(() => {
      insert('c', 3);
      throw new Error('not mine to store');
    }),
  );
  const after = batch.write(() => insert('d', 4));
  await ok;
  await after;
  assert.match(await bad, /mapped: UNIQUE constraint failed/);
  assert.match(await partial, /mapped: not mine to store/);
  assert.equal(rows(other), ['a=1', 'd=4'], 'c was rolled back with the write that threw');
});

test('disk full in a batch: the write that hit it rejects and stores nothing; every other resolves iff it is stored', async () => {
  const { db, other, insert, rows, batch } = open();
  await batch.write(() => insert('before', 0));
  const pages = db.pragma('page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${pages + 2}`);
  const small = batch.write(() => insert('small', 1));
  const big = batch.write(() => {
    for (let i = 0; i < 200; i++) insert(`big${i}`.padEnd(2000, 'x'), i);
  });
  const later = batch.write(() => insert('later', 2));
  const [s, b, l] = await Promise.allSettled([small, big, later]);
  assert.is(b?.status, 'rejected');
  assert.match(String((b as PromiseRejectedResult).reason), /mapped: database or disk is full/);
  const stored = rows(other);
  assert.not.ok(
    stored.some((r) => r.startsWith('big')),
    'nothing of the write that failed',
  );
  assert.is(s?.status === 'fulfilled', stored.includes('small=1'), 'small: told success iff stored');
  assert.is(l?.status === 'fulfilled', stored.includes('later=2'), 'later: told success iff stored');
  assert.ok(stored.includes('before=0'));
  assert.not.ok(db.inTransaction);
  db.pragma('max_page_count = 1073741823');
  await batch.write(() => insert('after', 3));
  assert.ok(rows(other).includes('after=3'), 'the next batch works');
});

test('flush runs what is queued at once (before close)', async () => {
  const { db, other, insert, rows, batch } = open();
  const w = batch.write(() => insert('a', 1));
  batch.flush();
  assert.equal(rows(other), ['a=1']);
  await w;
  db.close();
});

test.run();
