// One-time sign-in links: when railyard generated the admin token itself, startup logs a
// link that creates one session, once, within `ttlMs` (the token itself never appears in
// the log). Kept in memory: a restart logs a fresh link and forgets the old ones.
import { createHash, randomBytes } from 'node:crypto';

const LINK = /^[A-Za-z0-9_-]{43}$/;
const MAX_OPEN = 16;

export class SignInLinks {
  readonly #open = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A new link secret, valid once for `ttlMs`. */
  create(ttlMs: number): string {
    const secret = randomBytes(32).toString('base64url');
    this.#drop();
    if (this.#open.size >= MAX_OPEN) this.#open.delete(this.#open.keys().next().value as string);
    this.#open.set(hash(secret), this.#now() + ttlMs);
    return secret;
  }

  /** True once per link: the first valid use consumes it. */
  consume(secret: string | undefined): boolean {
    if (secret === undefined || !LINK.test(secret)) return false;
    const key = hash(secret);
    const expires = this.#open.get(key);
    this.#open.delete(key);
    return expires !== undefined && expires > this.#now();
  }

  #drop(): void {
    const now = this.#now();
    for (const [key, expires] of this.#open) if (expires <= now) this.#open.delete(key);
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
