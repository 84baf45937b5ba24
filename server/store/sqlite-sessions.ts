// Dashboard sessions in the state database's `sessions` table (migration 3).
import type Database from 'better-sqlite3';
import type { SessionRecord, SessionStore } from './sessions.ts';

interface Row {
  id: string;
  binding: string;
  created_at: number;
  expires_at: number;
}

export function sqliteSessions(db: Database.Database): SessionStore {
  const insert = db.prepare<[string, string, number, number]>(
    'INSERT OR REPLACE INTO sessions (id, binding, created_at, expires_at) VALUES (?, ?, ?, ?)',
  );
  const get = db.prepare<[string], Row>('SELECT * FROM sessions WHERE id = ?');
  const del = db.prepare<[string]>('DELETE FROM sessions WHERE id = ?');
  const prune = db.prepare<[number]>('DELETE FROM sessions WHERE expires_at <= ?');
  return {
    async create(s: SessionRecord) {
      insert.run(s.id, s.binding, s.createdAt, s.expiresAt);
    },
    async get(id) {
      const r = get.get(id);
      return r && { id: r.id, binding: r.binding, createdAt: r.created_at, expiresAt: r.expires_at };
    },
    async delete(id) {
      del.run(id);
    },
    async prune(now) {
      prune.run(now);
    },
  };
}
