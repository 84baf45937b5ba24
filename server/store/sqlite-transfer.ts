// `railyard state export | import` for SQLite: rows read in id order, loaded in one
// IMMEDIATE transaction with their ids (AUTOINCREMENT moves past them by itself). The token
// secret is not in state.db: the CLI writes `secret` records to <dataDir>/secret (cli/state.ts).
import type Database from 'better-sqlite3';
import type { MachineRow } from './rows.ts';
import type { StateRecord, StateTransfer } from './state-store.ts';
import { emptyCounts, ROW_TABLES, UPDATE_KINDS } from './transfer.ts';

export function sqliteTransfer(db: Database.Database): StateTransfer {
  const prepared = new Map<string, Database.Statement>();
  const insertOf = (kind: keyof typeof ROW_TABLES) => {
    let st = prepared.get(kind);
    if (!st) {
      const { table, columns: cols } = ROW_TABLES[kind];
      st = db.prepare(
        `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`,
      );
      prepared.set(kind, st);
    }
    return st;
  };
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
      const tables = db.prepare<[string], { name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
      );
      for (const kind of UPDATE_KINDS) {
        const { table, columns } = ROW_TABLES[kind];
        if (!tables.get(table)) continue; // the update store never opened on this database
        for (const row of db.prepare(`SELECT * FROM ${table} ORDER BY ${columns[0]}`).iterate())
          yield { kind, row } as StateRecord;
      }
      for (const row of db.prepare('SELECT * FROM pool_members ORDER BY mac').iterate())
        yield { kind: 'pool-member', row } as StateRecord;
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
            insertOf(r.kind).run(
              Object.fromEntries(ROW_TABLES[r.kind].columns.map((c) => [c, row[c] ?? null])),
            );
          }
        }
      }).immediate();
      return counts;
    },
  };
}
