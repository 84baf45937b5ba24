// Dashboard sessions: the cookie carries a random session id (256 bits), never the admin
// token. The store keeps only hashes: SHA-256(id) as the key and SHA-256(id, token) as a
// binding, so a changed admin token ends every session and a copy of the database signs
// nobody in. Sessions expire `ttlMs` after sign-in (absolute, not sliding); sign-out
// deletes the record.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SessionStore } from '../store/sessions.ts';

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export interface AdminSessionsOptions {
  store: SessionStore;
  /** The admin token sessions are bound to; undefined: nobody can sign in. */
  adminToken: string | undefined;
  ttlMs: number;
  now?: () => number;
}

export class AdminSessions {
  readonly #o: AdminSessionsOptions;

  constructor(options: AdminSessionsOptions) {
    this.#o = options;
  }

  get ttlMs(): number {
    return this.#o.ttlMs;
  }

  /** A new session; returns the cookie value. */
  async issue(): Promise<string> {
    const token = this.#o.adminToken;
    if (!token) throw new Error('no admin token: sessions cannot be issued');
    const value = randomBytes(32).toString('base64url');
    const now = this.#now();
    await this.#o.store.prune(now);
    await this.#o.store.create({
      id: hash(value),
      binding: hash(`${value}\n${token}`),
      createdAt: now,
      expiresAt: now + this.#o.ttlMs,
    });
    return value;
  }

  /** Is this cookie value a live session under the current admin token? */
  async valid(value: string | undefined): Promise<boolean> {
    const token = this.#o.adminToken;
    if (!token || value === undefined || !SESSION_ID.test(value)) return false;
    const record = await this.#o.store.get(hash(value));
    if (!record || record.expiresAt <= this.#now()) return false;
    const expected = Buffer.from(hash(`${value}\n${token}`), 'hex');
    const stored = Buffer.from(record.binding, 'hex');
    return stored.length === expected.length && timingSafeEqual(stored, expected);
  }

  async revoke(value: string | undefined): Promise<void> {
    if (value !== undefined && SESSION_ID.test(value)) await this.#o.store.delete(hash(value));
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
