// Dashboard sessions in PostgreSQL's `sessions` table: a sign-in on one instance is valid
// on every instance sharing the database (with the same admin token).
import { guarded, type Queryable } from './pg-pool.ts';
import type { SessionRecord, SessionStore } from './sessions.ts';

interface Row {
  id: string;
  binding: string;
  created_at: number;
  expires_at: number;
}

export function pgSessions(q: Queryable): SessionStore {
  return {
    create: (s: SessionRecord) =>
      guarded(async () => {
        await q.query(
          `INSERT INTO sessions (id, binding, created_at, expires_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET binding = excluded.binding, created_at = excluded.created_at,
             expires_at = excluded.expires_at`,
          [s.id, s.binding, s.createdAt, s.expiresAt],
        );
      }),
    get: (id) =>
      guarded(async () => {
        const r = (await q.query<Row>('SELECT * FROM sessions WHERE id = $1', [id])).rows[0];
        return r && { id: r.id, binding: r.binding, createdAt: r.created_at, expiresAt: r.expires_at };
      }),
    delete: (id) =>
      guarded(async () => {
        await q.query('DELETE FROM sessions WHERE id = $1', [id]);
      }),
    prune: (now) =>
      guarded(async () => {
        await q.query('DELETE FROM sessions WHERE expires_at <= $1', [now]);
      }),
  };
}
