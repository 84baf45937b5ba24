// SQLite state store (better-sqlite3, WAL). One file under the data dir; several processes
// may share it (busy timeout + BEGIN IMMEDIATE). Calls are synchronous and sub-millisecond,
// exposed as promises to fit the StateStore interface; the writes of one event-loop turn
// share one transaction (sqlite-batch.ts: group commit).
import Database from 'better-sqlite3';
import { ConfigError, errorMessage, NotFoundError, StorageError } from '../errors.ts';
import type { Mac } from '../machines/identity.ts';
import { applyEvent, type EventData, type EventType, type Machine, newMachine } from '../machines/state.ts';
import type { FleetQueries } from './fleet.ts';
import { migrate } from './migrations.ts';
import type { PoolStore } from './pool-store.ts';
import { type EventRow, type MachineRow, toEvent, toMachine, toRow } from './rows.ts';
import type { SessionStore } from './sessions.ts';
import { withSighting } from './sighting.ts';
import { AttemptStatements } from './sqlite-attempts.ts';
import { GroupCommit } from './sqlite-batch.ts';
import { sqliteFleet } from './sqlite-fleet.ts';
import { migratePool, sqlitePool } from './sqlite-pool.ts';
import { sqliteSessions } from './sqlite-sessions.ts';
import { sqliteTransfer } from './sqlite-transfer.ts';
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

/** Open (creating and migrating) the database at `file` (`:memory:` for tests). */
export function openSqliteStore(
  file: string,
  clock: Clock = () => new Date(),
  limits: StoreLimits = DEFAULT_LIMITS,
): StateStore {
  let db: Database.Database;
  try {
    db = new Database(file);
  } catch (err) {
    throw new ConfigError(`${file}: cannot open state database: ${errorMessage(err)}`, { file });
  }
  try {
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a crash or kill of railyard (what "a restart loses
    // nothing" needs); only a power cut can lose the last commits. FULL fsyncs every event,
    // which capped a boot storm at a few hundred machines/s (BENCHMARKS.md).
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 10000');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
    migratePool(db, file);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteStateStore(db, clock, limits);
}

/** A store on a database the caller opened and configured (tests: a size-limited one). */
export function sqliteStoreOn(
  db: Database.Database,
  clock: Clock = () => new Date(),
  limits: StoreLimits = DEFAULT_LIMITS,
): StateStore {
  migrate(db, db.name);
  migratePool(db, db.name);
  return new SqliteStateStore(db, clock, limits);
}

class SqliteStateStore implements StateStore {
  readonly fleet: FleetQueries;
  readonly sessions: SessionStore;
  readonly pool: PoolStore;
  readonly transfer: StateTransfer;
  readonly #db: Database.Database;
  readonly #clock: Clock;
  readonly #get;
  readonly #all;
  readonly #upsert;
  readonly #insertEvent;
  readonly #events;
  readonly #latest;
  readonly #installing;
  readonly #attempts: AttemptStatements;
  readonly #record;
  readonly #open;
  readonly #report;
  /** Writes of one event-loop turn in one transaction (sqlite-batch.ts). */
  readonly #batch: GroupCommit;

  constructor(db: Database.Database, clock: Clock, limits: StoreLimits) {
    this.#db = db;
    this.#clock = clock;
    this.#batch = new GroupCommit(db, storageError);
    this.fleet = sqliteFleet(db);
    this.sessions = sqliteSessions(db);
    this.pool = sqlitePool(db, guard);
    this.transfer = sqliteTransfer(db);
    this.#get = db.prepare<[string], MachineRow>('SELECT * FROM machines WHERE mac = ?');
    this.#all = db.prepare<[], MachineRow>('SELECT * FROM machines ORDER BY mac');
    // Every upsert comes with one event: it counts it (retention) and returns the count.
    this.#upsert = db.prepare<MachineRow, { event_count: number }>(
      `INSERT INTO machines (mac, state, failures, failure_reason, facts, profile, grp, first_seen, last_seen, event_count)
       VALUES (@mac, @state, @failures, @failure_reason, @facts, @profile, @grp, @first_seen, @last_seen, 1)
       ON CONFLICT(mac) DO UPDATE SET state = excluded.state, failures = excluded.failures,
         failure_reason = excluded.failure_reason, facts = excluded.facts, profile = excluded.profile,
         grp = excluded.grp, last_seen = excluded.last_seen, event_count = event_count + 1
       RETURNING event_count`,
    );
    this.#insertEvent = db.prepare<[string, string, string, string, string, string, number | null]>(
      'INSERT INTO events (mac, type, source, at, data, state, attempt_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    // Prepared once: the boot path reads events on every installer request.
    this.#events = db.prepare<[string, number], EventRow>(
      'SELECT * FROM (SELECT * FROM events WHERE mac = ? ORDER BY id DESC LIMIT ?) ORDER BY id',
    );
    this.#latest = db.prepare<[string, string, string], EventRow>(
      'SELECT * FROM events WHERE mac = ? AND type = ? AND at <= ? ORDER BY id DESC LIMIT 1',
    );
    this.#installing = db.prepare<[string, string], { version: string }>(
      `SELECT DISTINCT version FROM attempts
       WHERE closed_at IS NULL AND state IN ('served', 'installing') AND channel = ? AND board = ?
       ORDER BY version`,
    );
    this.#attempts = new AttemptStatements(db, limits);
    // plain functions: each runs in a savepoint of the batch (sqlite-batch.ts)
    this.#record = (mac: Mac, event: NewEvent, seen: Sighting, step?: OpenAttemptStep): Recorded => {
      const at = this.#at(event);
      const open = step ? this.#attempts.openOf(mac) : undefined;
      const next = open && step ? step(open) : undefined;
      if (open && next !== undefined) {
        this.#attempts.setState(open, next, at);
        return this.#append(mac, { ...event, at, attemptId: open.id }, seen, open.id);
      }
      return this.#append(mac, { ...event, at }, seen);
    };
    this.#open = (mac: Mac, attempt: NewAttempt, event: NewEvent, seen: Sighting): Opened => {
      const at = this.#at(event);
      const superseded = this.#attempts.openOf(mac);
      if (superseded) this.#attempts.setState(superseded, 'superseded', at);
      // The attempt row goes in once the machine row exists (foreign key), before its event.
      const recorded = this.#append(mac, { ...event, at }, seen, () =>
        this.#attempts.insert(mac, attempt, at),
      );
      this.#attempts.pruneAttempts(mac);
      return {
        ...recorded,
        attempt: recorded.attempt as StoredAttempt,
        superseded: superseded && this.#attempts.get(superseded.id),
      };
    };
    this.#report = (attemptId: number, event: NewEvent, step: AttemptStep) => {
      const attempt = this.#attempts.get(attemptId);
      if (!attempt) throw new NotFoundError(`no install attempt ${attemptId}`);
      const at = this.#at(event);
      const next = step(attempt);
      this.#attempts.setState(attempt, next, at);
      return this.#append(attempt.mac, { ...event, at, attemptId }, {}, attemptId);
    };
  }

  #at(event: NewEvent): string {
    return event.at ?? this.#clock().toISOString();
  }

  /**
   * Append an event (its `at` set), apply the transition, upsert the machine, count for
   * retention. `attemptOf`: the attempt to return with it, or a function that stores the
   * attempt (after the machine row, before the event) and returns its id.
   */
  #append(
    mac: Mac,
    event: NewEvent & { at: string },
    seen: Sighting,
    attemptOf?: number | (() => number),
  ): Recorded {
    const row = this.#get.get(mac);
    const before = row ? toMachine(row) : newMachine(mac, event.at);
    const data: EventData = event.data ?? {};
    const machine = withSighting(
      applyEvent(before, { type: event.type, source: event.source, at: event.at, data }),
      seen,
    );
    const { event_count: count } = this.#upsert.get(toRow(machine)) as { event_count: number };
    const owner = typeof attemptOf === 'function' ? attemptOf() : attemptOf;
    const attemptId = typeof attemptOf === 'function' ? (owner as number) : (event.attemptId ?? null);
    const { lastInsertRowid } = this.#insertEvent.run(
      mac,
      event.type,
      event.source,
      event.at,
      JSON.stringify(data),
      machine.state,
      attemptId,
    );
    this.#attempts.pruneEvents(mac, count);
    const stored: StoredEvent = {
      id: Number(lastInsertRowid),
      mac,
      type: event.type,
      source: event.source,
      at: event.at,
      data,
      state: machine.state,
      attemptId,
    };
    const attempt = owner === undefined ? undefined : this.#attempts.get(owner);
    return attempt ? { machine, event: stored, attempt } : { machine, event: stored };
  }

  async getMachine(mac: Mac): Promise<Machine | undefined> {
    const row = await this.#batch.read(() => this.#get.get(mac));
    return row ? toMachine(row) : undefined;
  }

  async listMachines(): Promise<Machine[]> {
    return (await this.#batch.read(() => this.#all.all())).map(toMachine);
  }

  async recordEvent(
    mac: Mac,
    event: NewEvent,
    seen: Sighting = {},
    step?: OpenAttemptStep,
  ): Promise<Recorded> {
    return this.#batch.write(() => this.#record(mac, event, seen, step));
  }

  async openAttempt(mac: Mac, attempt: NewAttempt, event: NewEvent, seen: Sighting = {}): Promise<Opened> {
    return this.#batch.write(() => this.#open(mac, attempt, event, seen));
  }

  async recordReport(attemptId: number, event: NewEvent, step: AttemptStep) {
    return (await this.#batch.write(() => this.#report(attemptId, event, step))) as Recorded & {
      attempt: StoredAttempt;
    };
  }

  async getAttempt(id: number): Promise<StoredAttempt | undefined> {
    return this.#batch.read(() => this.#attempts.get(id));
  }

  async openAttemptOf(mac: Mac): Promise<StoredAttempt | undefined> {
    return this.#batch.read(() => this.#attempts.openOf(mac));
  }

  async attempts(mac: Mac, options: { limit?: number } = {}): Promise<StoredAttempt[]> {
    return this.#batch.read(() => this.#attempts.ofMachine(mac, options.limit ?? -1));
  }

  async openAttempts(): Promise<StoredAttempt[]> {
    return this.#batch.read(() => this.#attempts.allOpen());
  }

  async events(mac: Mac, options: { limit?: number } = {}): Promise<StoredEvent[]> {
    const limit = options.limit ?? -1;
    const rows = await this.#batch.read(() => this.#events.all(mac, limit));
    return rows.map(toEvent);
  }

  async latestEvent(mac: string, type: EventType, at = MAX_TIME): Promise<StoredEvent | undefined> {
    const row = await this.#batch.read(() => this.#latest.get(mac, type, at));
    return row && toEvent(row);
  }

  async installingVersions(channel: string, board: string): Promise<string[]> {
    return this.#batch.read(() => this.#installing.all(channel, board).map((r) => r.version));
  }

  async ping(): Promise<void> {
    guard(() => this.#db.prepare('SELECT 1').get());
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    this.#batch.flush();
    this.#db.close();
  }
}

/** SQLite's own failures (disk full, I/O, locked) become a StorageError; ours pass through. */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw storageError(err);
  }
}

function storageError(err: unknown): unknown {
  return err instanceof Database.SqliteError
    ? new StorageError(`state database: ${err.message} (${err.code})`, { cause: err })
    : err;
}
