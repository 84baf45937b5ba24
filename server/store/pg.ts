// PostgreSQL state store (`pg`, one pool per instance): several railyard instances share
// one database and one truth about each machine. Every write is one transaction that first
// takes the machine's advisory lock (pg_advisory_xact_lock on a hash of the MAC), so the
// decisions made inside it (one open attempt, a report's transition) see the latest
// committed state and no other instance can interleave; the partial unique index
// attempts_open_per_machine backs the first rule up. Each write NOTIFYs its MAC (pg-changes.ts).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ConfigError, errorMessage, NotFoundError, StorageError } from '../errors.ts';
import type { Mac } from '../machines/identity.ts';
import { applyEvent, type EventData, type EventType, type Machine, newMachine } from '../machines/state.ts';
import type { FleetQueries } from './fleet.ts';
import * as attempts from './pg-attempts.ts';
import { changeChannel, notifySql, PgChangeFeed } from './pg-changes.ts';
import { pgFleet } from './pg-fleet.ts';
import { migratePg } from './pg-migrations.ts';
import { createPool, describeUrl, guarded, type PoolOptions, transaction } from './pg-pool.ts';
import { pgPoolMembers } from './pg-pool-members.ts';
import { pgSessions } from './pg-sessions.ts';
import { pgTransfer } from './pg-transfer.ts';
import type { PoolStore } from './pool-store.ts';
import { type EventRow, type MachineRow, toEvent, toMachine, toRow } from './rows.ts';
import type { SessionStore } from './sessions.ts';
import { withSighting } from './sighting.ts';
import {
  type AttemptStep,
  type Clock,
  DEFAULT_LIMITS,
  MAX_TIME,
  type NewAttempt,
  type NewEvent,
  type OpenAttemptStep,
  type Opened,
  type Recorded,
  type Sighting,
  type StateStore,
  type StateTransfer,
  type StoredAttempt,
  type StoredEvent,
  type StoreLimits,
} from './state-store.ts';

export interface PgStoreOptions extends Omit<PoolOptions, 'max'> {
  poolSize?: number;
  clock?: Clock;
  limits?: StoreLimits;
}

/** Connect, migrate (advisory-locked) and start listening for other instances' changes. */
export async function openPgStore(o: PgStoreOptions): Promise<StateStore> {
  const where = describeUrl(o.url);
  const pool = createPool({ ...o, max: o.poolSize ?? 10 });
  try {
    await migratePg(pool, where, o.schema);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`state.url (${where}): cannot open the state database: ${errorMessage(err)}`, {
      key: 'state.url',
    });
  }
  const channel = changeChannel(o.schema);
  const instance = randomUUID().slice(0, 8);
  const feed = new PgChangeFeed(o.url, channel, instance);
  await feed.start();
  const notify = (r: Recorded) => notifySql(channel, r, instance);
  return new PgStateStore(pool, feed, notify, o.clock ?? (() => new Date()), o.limits ?? DEFAULT_LIMITS);
}

/** The machine's advisory lock key: 64 bits of SHA-1(mac), a bigint literal. */
function lockKey(mac: Mac): string {
  return createHash('sha1').update(`railyard-machine:${mac}`).digest().readBigInt64BE(0).toString();
}

class PgStateStore implements StateStore {
  readonly fleet: FleetQueries;
  readonly sessions: SessionStore;
  readonly pool: PoolStore;
  readonly changes: PgChangeFeed;
  readonly transfer: StateTransfer;
  readonly #pool: pg.Pool;
  readonly #clock: Clock;
  readonly #limits: StoreLimits;
  readonly #notify: (recorded: Recorded) => string;

  constructor(
    pool: pg.Pool,
    feed: PgChangeFeed,
    notify: (recorded: Recorded) => string,
    clock: Clock,
    limits: StoreLimits,
  ) {
    this.#pool = pool;
    this.#clock = clock;
    this.#limits = limits;
    this.changes = feed;
    this.fleet = pgFleet(pool);
    this.sessions = pgSessions(pool);
    this.pool = pgPoolMembers(pool);
    this.transfer = pgTransfer(pool);
    this.#notify = notify;
  }

  /** A write transaction on `mac`: its advisory lock first, its NOTIFY with the COMMIT. */
  #write<T extends Recorded>(mac: Mac, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return transaction(
      this.#pool,
      async (c) => {
        const value = await fn(c);
        return { value, end: this.#notify(value) };
      },
      `SELECT pg_advisory_xact_lock(${lockKey(mac)});`,
    );
  }

  #at(event: NewEvent): string {
    return event.at ?? this.#clock().toISOString();
  }

  /** As sqlite.ts's #append: event, transition, upsert, retention, in the caller's transaction. */
  async #append(
    c: pg.PoolClient,
    mac: Mac,
    event: NewEvent & { at: string },
    seen: Sighting,
    attemptOf?: number | (() => Promise<number>),
  ): Promise<Recorded> {
    const row = (await c.query<MachineRow>('SELECT * FROM machines WHERE mac = $1', [mac])).rows[0];
    const before = row ? toMachine(row) : newMachine(mac, event.at);
    const data: EventData = event.data ?? {};
    const machine = withSighting(
      applyEvent(before, { type: event.type, source: event.source, at: event.at, data }),
      seen,
    );
    const m = toRow(machine);
    const upserted = await c.query<{ event_count: number }>(
      `INSERT INTO machines (mac, state, failures, failure_reason, facts, profile, grp, first_seen, last_seen, event_count)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)
       ON CONFLICT (mac) DO UPDATE SET state = excluded.state, failures = excluded.failures,
         failure_reason = excluded.failure_reason, facts = excluded.facts, profile = excluded.profile,
         grp = excluded.grp, last_seen = excluded.last_seen, event_count = machines.event_count + 1
       RETURNING event_count`,
      [m.mac, m.state, m.failures, m.failure_reason, m.facts, m.profile, m.grp, m.first_seen, m.last_seen],
    );
    const count = upserted.rows[0]?.event_count ?? 1;
    const owner = typeof attemptOf === 'function' ? await attemptOf() : attemptOf;
    const attemptId = typeof attemptOf === 'function' ? (owner as number) : (event.attemptId ?? null);
    const inserted = await c.query<{ id: number }>(
      'INSERT INTO events (mac, type, source, at, data, state, attempt_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id',
      [mac, event.type, event.source, event.at, JSON.stringify(data), machine.state, attemptId],
    );
    await attempts.pruneEvents(c, this.#limits, mac, count);
    const stored: StoredEvent = {
      id: (inserted.rows[0] as { id: number }).id,
      mac,
      type: event.type,
      source: event.source,
      at: event.at,
      data,
      state: machine.state,
      attemptId,
    };
    const attempt = owner === undefined ? undefined : await attempts.attemptById(c, owner);
    return attempt ? { machine, event: stored, attempt } : { machine, event: stored };
  }

  recordEvent(mac: Mac, event: NewEvent, seen: Sighting = {}, step?: OpenAttemptStep): Promise<Recorded> {
    return this.#write(mac, async (c) => {
      const at = this.#at(event);
      const open = step ? await attempts.openAttemptOf(c, mac) : undefined;
      const next = open && step ? step(open) : undefined;
      if (open && next !== undefined) {
        await attempts.setAttemptState(c, open, next, at);
        return this.#append(c, mac, { ...event, at, attemptId: open.id }, seen, open.id);
      }
      return this.#append(c, mac, { ...event, at }, seen);
    });
  }

  openAttempt(mac: Mac, attempt: NewAttempt, event: NewEvent, seen: Sighting = {}): Promise<Opened> {
    return this.#write(mac, async (c) => {
      const at = this.#at(event);
      const superseded = await attempts.openAttemptOf(c, mac);
      if (superseded) await attempts.setAttemptState(c, superseded, 'superseded', at);
      // The attempt row goes in once the machine row exists (foreign key), before its event.
      const recorded = await this.#append(c, mac, { ...event, at }, seen, () =>
        attempts.insertAttempt(c, mac, attempt, at),
      );
      await attempts.pruneAttempts(c, this.#limits, mac);
      return {
        ...recorded,
        attempt: recorded.attempt as StoredAttempt,
        superseded: superseded && (await attempts.attemptById(c, superseded.id)),
      };
    });
  }

  async recordReport(attemptId: number, event: NewEvent, step: AttemptStep) {
    const mac = await guarded(async () => (await attempts.attemptById(this.#pool, attemptId))?.mac);
    if (mac === undefined) throw new NotFoundError(`no install attempt ${attemptId}`);
    return this.#write(mac, async (c) => {
      // Read again under the machine's lock: this is the state the step decides on.
      const attempt = await attempts.attemptById(c, attemptId);
      if (!attempt) throw new NotFoundError(`no install attempt ${attemptId}`);
      const at = this.#at(event);
      await attempts.setAttemptState(c, attempt, step(attempt), at);
      return (await this.#append(c, mac, { ...event, at, attemptId }, {}, attemptId)) as Recorded & {
        attempt: StoredAttempt;
      };
    });
  }

  getMachine(mac: Mac): Promise<Machine | undefined> {
    return guarded(async () => {
      const row = (await this.#pool.query<MachineRow>('SELECT * FROM machines WHERE mac = $1', [mac]))
        .rows[0];
      return row && toMachine(row);
    });
  }

  listMachines(): Promise<Machine[]> {
    return guarded(async () =>
      (await this.#pool.query<MachineRow>('SELECT * FROM machines ORDER BY mac')).rows.map(toMachine),
    );
  }

  getAttempt(id: number): Promise<StoredAttempt | undefined> {
    return guarded(() => attempts.attemptById(this.#pool, id));
  }

  openAttemptOf(mac: Mac): Promise<StoredAttempt | undefined> {
    return guarded(() => attempts.openAttemptOf(this.#pool, mac));
  }

  attempts(mac: Mac, options: { limit?: number } = {}): Promise<StoredAttempt[]> {
    return guarded(() => attempts.attemptsOf(this.#pool, mac, options.limit ?? null));
  }

  openAttempts(): Promise<StoredAttempt[]> {
    return guarded(() => attempts.allOpenAttempts(this.#pool));
  }

  events(mac: Mac, options: { limit?: number } = {}): Promise<StoredEvent[]> {
    return guarded(async () => {
      const { rows } = await this.#pool.query<EventRow>(
        'SELECT * FROM (SELECT * FROM events WHERE mac = $1 ORDER BY id DESC LIMIT $2) x ORDER BY id',
        [mac, options.limit ?? null],
      );
      return rows.map(toEvent);
    });
  }

  latestEvent(mac: string, type: EventType, at = MAX_TIME): Promise<StoredEvent | undefined> {
    return guarded(async () => {
      const { rows } = await this.#pool.query<EventRow>(
        'SELECT * FROM events WHERE mac = $1 AND type = $2 AND at <= $3 ORDER BY id DESC LIMIT 1',
        [mac, type, at],
      );
      return rows[0] && toEvent(rows[0]);
    });
  }

  installingVersions(channel: string, board: string): Promise<string[]> {
    return guarded(async () => {
      const { rows } = await this.#pool.query<{ version: string }>(
        `SELECT DISTINCT version FROM attempts
         WHERE closed_at IS NULL AND state IN ('served', 'installing') AND channel = $1 AND board = $2
         ORDER BY version`,
        [channel, board],
      );
      return rows.map((r) => r.version);
    });
  }

  /** The token secret in server_secrets: the first instance to ask creates it. */
  tokenSecret(): Promise<Buffer> {
    return guarded(async () => {
      await this.#pool.query(
        `INSERT INTO server_secrets (name, value, created_at) VALUES ('token', $1, $2) ON CONFLICT (name) DO NOTHING`,
        [randomBytes(32).toString('hex'), this.#clock().toISOString()],
      );
      const { rows } = await this.#pool.query<{ value: string }>(
        "SELECT value FROM server_secrets WHERE name = 'token'",
      );
      const hex = rows[0]?.value ?? '';
      if (!/^[0-9a-f]{64,}$/.test(hex))
        throw new StorageError('server_secrets: the token secret is malformed');
      return Buffer.from(hex, 'hex');
    });
  }

  ping(): Promise<void> {
    return guarded(async () => {
      await this.#pool.query('SELECT 1');
    });
  }

  async close(): Promise<void> {
    await this.changes.close();
    await this.#pool.end().catch(() => undefined);
  }
}
