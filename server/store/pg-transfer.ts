// `railyard state export | import` for PostgreSQL: keyset-paged reads, and one
// transaction of inserts that keeps ids and moves the identity sequences past them.
import type pg from 'pg';
import { guarded, transaction } from './pg-pool.ts';
import type { StateRecord, StateTransfer } from './state-store.ts';
import { emptyCounts, ROW_TABLES, UPDATE_KINDS } from './transfer.ts';

const PAGE = 2000;

export function pgTransfer(pool: pg.Pool): StateTransfer {
  async function* paged<R extends Record<string, unknown>>(table: string, key: string): AsyncIterable<R> {
    let after: unknown = null;
    for (;;) {
      const { rows } = await guarded(() =>
        pool.query<R>(
          `SELECT * FROM ${table} WHERE $1::text IS NULL OR ${key}::text > $1::text ORDER BY ${key} LIMIT ${PAGE}`,
          [after],
        ),
      );
      yield* rows;
      if (rows.length < PAGE) return;
      after = (rows.at(-1) as R)[key];
    }
  }
  return {
    async *rows() {
      for await (const row of paged('machines', 'mac'))
        yield { kind: 'machine', row } as unknown as StateRecord;
      for await (const row of pagedById(pool, 'attempts'))
        yield { kind: 'attempt', row } as unknown as StateRecord;
      for await (const row of pagedById(pool, 'events'))
        yield { kind: 'event', row } as unknown as StateRecord;
      for await (const r of paged<{ id: string; binding: string; created_at: number; expires_at: number }>(
        'sessions',
        'id',
      ))
        yield {
          kind: 'session',
          row: { id: r.id, binding: r.binding, createdAt: r.created_at, expiresAt: r.expires_at },
        };
      for (const kind of UPDATE_KINDS) {
        const { table, columns } = ROW_TABLES[kind];
        const exists = await guarded(() =>
          pool.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [table]),
        );
        if (!exists.rows[0]?.t) continue; // the update store never opened on this database
        for await (const row of paged<Record<string, string | number | null>>(table, columns[0]))
          yield { kind, row } as StateRecord;
      }
      for await (const row of paged<Record<string, string | number | null>>('pool_members', 'mac'))
        yield { kind: 'pool-member', row } as StateRecord;
    },
    isEmpty: () =>
      guarded(async () => {
        const { rows } = await pool.query<{ n: number }>(
          'SELECT (SELECT count(*) FROM machines) + (SELECT count(*) FROM sessions) AS n',
        );
        return rows[0]?.n === 0;
      }),
    load: (records) =>
      transaction(pool, async (c) => {
        const counts = emptyCounts();
        for await (const r of records) {
          counts[r.kind]++;
          if (r.kind === 'secret') {
            await c.query(
              `INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3)
               ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
              [r.name, r.value, new Date().toISOString()],
            );
          } else if (r.kind === 'session') {
            const s = r.row;
            await c.query(
              'INSERT INTO sessions (id, binding, created_at, expires_at) VALUES ($1, $2, $3, $4)',
              [s.id, s.binding, s.createdAt, s.expiresAt],
            );
          } else {
            const { table, columns } = ROW_TABLES[r.kind];
            const row = r.row as unknown as Record<string, unknown>;
            await c.query(
              `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
              columns.map((k) => row[k] ?? null),
            );
          }
        }
        for (const table of ['attempts', 'events'])
          await c.query(
            `SELECT setval(pg_get_serial_sequence('${table}', 'id'), COALESCE((SELECT MAX(id) FROM ${table}), 0) + 1, false)`,
          );
        return { value: counts };
      }),
  };
}

async function* pagedById(pool: pg.Pool, table: string): AsyncIterable<Record<string, unknown>> {
  let after = 0;
  for (;;) {
    const { rows } = await guarded(() =>
      pool.query<{ id: number }>(`SELECT * FROM ${table} WHERE id > $1 ORDER BY id LIMIT ${PAGE}`, [after]),
    );
    yield* rows;
    if (rows.length < PAGE) return;
    after = (rows.at(-1) as { id: number }).id;
  }
}
