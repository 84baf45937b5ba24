// `railyard state export | import` for SQLite: rows read in id order, loaded in one
// IMMEDIATE transaction with their ids (AUTOINCREMENT moves past them by itself). The token
// secret is not in state.db: the CLI writes `secret` records to <dataDir>/secret (cli/state.ts).
import type Database from 'better-sqlite3';
import type { MachineRow } from './rows.ts';
import type { StateRecord, StateTransfer } from './state-store.ts';
import { emptyCounts, ROW_TABLES } from './transfer.ts';

export function sqliteTransfer(db: Database.Database): StateTransfer {
  const insert = Object.fromEntries(
    (Object.keys(ROW_TABLES) as (keyof typeof ROW_TABLES)[]).map((kind) => {
      const { table, columns: cols } = ROW_TABLES[kind];
      return [
        kind,
        db.prepare(
          `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`,
        ),
      ];
    }),
  ) as Record<keyof typeof ROW_TABLES, Database.Statement>;
  const insertSession = db.prepare(
    'INSERT INTO sessions (id, binding, created_at, expires_at) VALUES (@id, @binding, @createdAt, @expiresAt)',
  );
  return {
    async *rows() {
      for (const row of db
        .prepare<[], MachineRow & { event_count: number }>('SELECT * FROM machines ORDER BY mac')
        .iterate())
        yield { kind: 'machine', row } as StateRecord;
      for (const row of db.prepare('SELECT * FROM attempts ORDER BY id').iterate())
        yield { kind: 'attempt', row } as unknown as StateRecord;
      for (const row of db.prepare('SELECT * FROM events ORDER BY id').iterate())
        yield { kind: 'event', row } as unknown as StateRecord;
      const sessions = db.prepare<
        [],
        { id: string; binding: string; created_at: number; expires_at: number }
      >('SELECT * FROM sessions ORDER BY id');
      for (const s of sessions.iterate())
        yield {
          kind: 'session',
          row: { id: s.id, binding: s.binding, createdAt: s.created_at, expiresAt: s.expires_at },
        };
    },
    async isEmpty() {
      const n = db
        .prepare<[], { n: number }>(
          'SELECT (SELECT count(*) FROM machines) + (SELECT count(*) FROM sessions) AS n',
        )
        .get();
      return n?.n === 0;
    },
    async load(records) {
      // better-sqlite3 transactions are synchronous: collect first, then insert in one go.
      const all: StateRecord[] = [];
      for await (const r of records) all.push(r);
      const counts = emptyCounts();
      db.transaction(() => {
        for (const r of all) {
          counts[r.kind]++;
          if (r.kind === 'session') insertSession.run(r.row);
          else if (r.kind !== 'secret') {
            const row = r.row as unknown as Record<string, unknown>;
            insert[r.kind].run(
              Object.fromEntries(ROW_TABLES[r.kind].columns.map((c) => [c, row[c] ?? null])),
            );
          }
        }
      }).immediate();
      return counts;
    },
  };
}
