// The dashboard-session seam: what sign-in needs to persist. A record is keyed by a hash of
// the session id (the cookie value is never stored) and holds a hash binding it to the admin
// credential it was issued under. SQLite keeps them in the state database
// (sqlite-sessions.ts); another backend implements this same interface.

export interface SessionRecord {
  /** SHA-256 (hex) of the cookie value. */
  id: string;
  /** SHA-256 (hex) of cookie value + admin token: a rotated token ends every session. */
  binding: string;
  createdAt: number;
  expiresAt: number;
}

export interface SessionStore {
  create(session: SessionRecord): Promise<void>;
  /** undefined when unknown (expired records may still be returned: the caller checks). */
  get(id: string): Promise<SessionRecord | undefined>;
  delete(id: string): Promise<void>;
  /** Drop sessions expired before `now` (epoch ms). */
  prune(now: number): Promise<void>;
}

export function memorySessions(): SessionStore {
  const byId = new Map<string, SessionRecord>();
  return {
    async create(s) {
      byId.set(s.id, { ...s });
    },
    async get(id) {
      const s = byId.get(id);
      return s && { ...s };
    },
    async delete(id) {
      byId.delete(id);
    },
    async prune(now) {
      for (const [id, s] of byId) if (s.expiresAt <= now) byId.delete(id);
    },
  };
}
