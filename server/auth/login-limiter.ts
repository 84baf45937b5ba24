// Failed sign-ins, rate-limited per client: after `maxFailures` wrong credentials within
// `windowMs`, the client is refused (429) for `blockMs`, doubling on each further block up
// to `maxBlockMs`. While blocked, credentials are not even checked (no oracle). IPv6
// clients are keyed by their /64 (one host can hold a whole prefix); at most `maxClients`
// are remembered (oldest forgotten first).
import { isIPv6 } from 'node:net';

export interface LimiterOptions {
  maxFailures: number;
  windowMs: number;
  blockMs: number;
  maxBlockMs: number;
  maxClients: number;
}

export const LOGIN_LIMITS: LimiterOptions = {
  maxFailures: 5,
  windowMs: 5 * 60_000,
  blockMs: 60_000,
  maxBlockMs: 15 * 60_000,
  maxClients: 10_000,
};

interface ClientRecord {
  failures: number[];
  blockedUntil: number;
  blocks: number;
}

export type LimitDecision = { allowed: true } | { allowed: false; retryAfterSec: number };

export class LoginLimiter {
  readonly #o: LimiterOptions;
  readonly #now: () => number;
  readonly #clients = new Map<string, ClientRecord>();

  constructor(options: LimiterOptions = LOGIN_LIMITS, now: () => number = Date.now) {
    this.#o = options;
    this.#now = now;
  }

  check(client: string | undefined): LimitDecision {
    const r = this.#clients.get(clientKey(client));
    const wait = r ? r.blockedUntil - this.#now() : 0;
    return wait > 0 ? { allowed: false, retryAfterSec: Math.ceil(wait / 1000) } : { allowed: true };
  }

  fail(client: string | undefined): void {
    const key = clientKey(client);
    const now = this.#now();
    const r = this.#clients.get(key) ?? { failures: [], blockedUntil: 0, blocks: 0 };
    r.failures = [...r.failures.filter((t) => t > now - this.#o.windowMs), now];
    if (r.failures.length >= this.#o.maxFailures) {
      r.blockedUntil = now + Math.min(this.#o.maxBlockMs, this.#o.blockMs * 2 ** r.blocks);
      r.blocks++;
      r.failures = [];
    }
    this.#clients.delete(key);
    this.#clients.set(key, r);
    if (this.#clients.size > this.#o.maxClients)
      this.#clients.delete(this.#clients.keys().next().value as string);
  }

  succeed(client: string | undefined): void {
    this.#clients.delete(clientKey(client));
  }
}

/** IPv4 (mapped ones too) as is; IPv6 by its first four groups (/64). */
export function clientKey(client: string | undefined): string {
  if (client === undefined) return 'unknown';
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(client);
  if (v4) return v4[1] as string;
  if (!isIPv6(client)) return client;
  const [head = '', tail = ''] = client.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = client.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
