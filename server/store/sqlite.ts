// SQLite state store (better-sqlite3, WAL). One file under the data dir; several processes
// may share it (busy timeout + BEGIN IMMEDIATE). Calls are synchronous and sub-millisecond,
// exposed as promises to fit the StateStore interface.
import Database from 'better-sqlite3';
import { ConfigError, errorMessage } from '../errors.ts';
import type { Facts } from '../machines/identity.ts';
import { applyEvent, type EventData, type Machine, newMachine } from '../machines/state.ts';
import type { FleetQueries } from './fleet.ts';
import { migrate } from './migrations.ts';
import type { SessionStore } from './sessions.ts';
import { sqliteFleet } from './sqlite-fleet.ts';
import { sqliteSessions } from './sqlite-sessions.ts';
import type { Clock, NewEvent, Recorded, Sighting, StateStore, StoredEvent } from './state-store.ts';

export interface MachineRow {
  mac: string;
  state: Machine['state'];
  failures: number;
  failure_reason: string | null;
  facts: string;
  profile: string | null;
  grp: string | null;
  first_seen: string;
  last_seen: string;
}

interface EventRow {
  id: number;
  mac: string;
  type: StoredEvent['type'];
  source: StoredEvent['source'];
  at: string;
  data: string;
  state: StoredEvent['state'];
}

/** Open (creating and migrating) the database at `file` (`:memory:` for tests). */
export function openSqliteStore(file: string, clock: Clock = () => new Date()): StateStore {
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
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteStateStore(db, clock);
}

class SqliteStateStore implements StateStore {
  readonly fleet: FleetQueries;
  readonly sessions: SessionStore;
  readonly #db: Database.Database;
  readonly #clock: Clock;
  readonly #get;
  readonly #upsert;
  readonly #insertEvent;
  readonly #record;
  readonly #events;

  constructor(db: Database.Database, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
    this.fleet = sqliteFleet(db);
    this.sessions = sqliteSessions(db);
    this.#get = db.prepare<[string], MachineRow>('SELECT * FROM machines WHERE mac = ?');
    this.#upsert = db.prepare(
      `INSERT INTO machines (mac, state, failures, failure_reason, facts, profile, grp, first_seen, last_seen)
       VALUES (@mac, @state, @failures, @failure_reason, @facts, @profile, @grp, @first_seen, @last_seen)
       ON CONFLICT(mac) DO UPDATE SET state = excluded.state, failures = excluded.failures,
         failure_reason = excluded.failure_reason, facts = excluded.facts, profile = excluded.profile,
         grp = excluded.grp, last_seen = excluded.last_seen`,
    );
    this.#insertEvent = db.prepare<[string, string, string, string, string, string]>(
      'INSERT INTO events (mac, type, source, at, data, state) VALUES (?, ?, ?, ?, ?, ?)',
    );
    // Prepared once: installerInputs() reads events on every installer request.
    this.#events = db.prepare<[string, number], EventRow>(
      'SELECT * FROM (SELECT * FROM events WHERE mac = ? ORDER BY id DESC LIMIT ?) ORDER BY id',
    );
    this.#record = db.transaction((mac: string, event: NewEvent, seen: Sighting): Recorded => {
      const at = event.at ?? this.#clock().toISOString();
      const row = this.#get.get(mac);
      const before = row ? toMachine(row) : newMachine(mac, at);
      const data: EventData = event.data ?? {};
      const machine = withSighting(
        applyEvent(before, { type: event.type, source: event.source, at, data }),
        seen,
      );
      this.#upsert.run(toRow(machine));
      const { lastInsertRowid } = this.#insertEvent.run(
        mac,
        event.type,
        event.source,
        at,
        JSON.stringify(data),
        machine.state,
      );
      const id = Number(lastInsertRowid);
      return {
        machine,
        event: { id, mac, type: event.type, source: event.source, at, data, state: machine.state },
      };
    });
  }

  async getMachine(mac: string): Promise<Machine | undefined> {
    const row = this.#get.get(mac);
    return row ? toMachine(row) : undefined;
  }

  async listMachines(): Promise<Machine[]> {
    return this.#db.prepare<[], MachineRow>('SELECT * FROM machines ORDER BY mac').all().map(toMachine);
  }

  async recordEvent(mac: string, event: NewEvent, seen: Sighting = {}): Promise<Recorded> {
    return this.#record.immediate(mac, event, seen);
  }

  async events(mac: string, options: { limit?: number } = {}): Promise<StoredEvent[]> {
    const limit = options.limit ?? -1;
    const rows = this.#events.all(mac, limit);
    return rows.map((r) => ({ ...r, data: JSON.parse(r.data) as EventData }));
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

function withSighting(machine: Machine, seen: Sighting): Machine {
  return {
    ...machine,
    facts: seen.facts ? { ...machine.facts, ...seen.facts } : machine.facts,
    profile: seen.profile ?? machine.profile,
    group: seen.group ?? machine.group,
  };
}

export function toMachine(row: MachineRow): Machine {
  return {
    mac: row.mac,
    state: row.state,
    failures: row.failures,
    failureReason: row.failure_reason,
    facts: JSON.parse(row.facts) as Facts,
    profile: row.profile,
    group: row.grp,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
  };
}

function toRow(m: Machine): MachineRow {
  return {
    mac: m.mac,
    state: m.state,
    failures: m.failures,
    failure_reason: m.failureReason,
    facts: JSON.stringify(m.facts),
    profile: m.profile,
    grp: m.group,
    first_seen: m.firstSeen,
    last_seen: m.lastSeen,
  };
}
