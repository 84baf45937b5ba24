// The state store seam: what routes, /ipxe and the CLI need to persist machines, their
// install attempts and their events. SQLite (sqlite.ts) is the default; another backend
// (PostgreSQL) implements the same interface and is chosen in open.ts, without touching
// routes. The contract tests (fixtures/contract.ts) take a store factory: run them against
// every implementation.
//
// Exclusive decisions live behind these methods and must be made inside one transaction
// with the write they guard: one open attempt per machine (openAttempt supersedes), and a
// report's transition checked against the attempt's current state (recordReport runs the
// caller's pure `step` on the row it then updates).
import type { AttemptSpec, AttemptState, InstallAttempt } from '../machines/attempt.ts';
import type { Facts, Mac } from '../machines/identity.ts';
import type {
  EventData,
  EventSource,
  EventType,
  Machine,
  MachineEvent,
  MachineState,
} from '../machines/state.ts';
import type { FleetQueries } from './fleet.ts';
import type { PoolStore } from './pool-store.ts';
import type { AttemptRow, EventRow, MachineRow } from './rows.ts';
import type { SessionRecord, SessionStore } from './sessions.ts';

export interface NewEvent {
  type: EventType;
  source: EventSource;
  data?: EventData;
  /** Defaults to the store's clock. */
  at?: string;
  /** The install attempt the event belongs to (it must be this machine's). */
  attemptId?: number;
}

/** What the request that caused the event tells us about the machine. */
export interface Sighting {
  /** Replaces the stored facts (facts are per boot: never merged). */
  facts?: Facts;
  profile?: string;
  group?: string;
}

export interface StoredEvent extends MachineEvent {
  /** Monotonic per store: the order events were recorded in. */
  id: number;
  mac: Mac;
  /** The machine's state after this event. */
  state: MachineState;
  /** The install attempt it belongs to; null for events outside any attempt. */
  attemptId: number | null;
}

/** Credential material of an attempt: only hashes, plus the nonce tokens are derived from. */
export interface AttemptSecrets {
  /** Random per attempt; with the server secret it derives the tokens (installer/credentials.ts). */
  nonce: string;
  /** SHA-256 (hex) of the install token and of the first-boot token. */
  installTokenHash: string;
  firstBootTokenHash: string;
}

/** Later than any event time railyard records (ISO-8601 sorts as text): `latestEvent`'s default bound. */
export const MAX_TIME = '9999-12-31T23:59:59.999Z';

export interface StoredAttempt extends InstallAttempt {
  secrets: AttemptSecrets;
}

export interface NewAttempt extends AttemptSpec {
  secrets: AttemptSecrets;
}

export interface Recorded {
  machine: Machine;
  event: StoredEvent;
  /** The attempt the event belongs to, as it is after the event. */
  attempt?: StoredAttempt;
}

export interface Opened extends Recorded {
  attempt: StoredAttempt;
  /** The attempt this one closed, if the machine had one open. */
  superseded: StoredAttempt | undefined;
}

/**
 * A pure decision the store runs inside its transaction, on the attempt as stored: the
 * attempt's next state. Throwing (ConflictError) refuses the write; nothing is recorded.
 */
export type AttemptStep = (attempt: InstallAttempt) => AttemptState;
/** As AttemptStep; undefined means "the event is not part of this attempt" (no change). */
export type OpenAttemptStep = (attempt: InstallAttempt) => AttemptState | undefined;

/** Retention per machine: the oldest events and closed attempts beyond these are deleted. */
export interface StoreLimits {
  eventsPerMachine: number;
  attemptsPerMachine: number;
}

export const DEFAULT_LIMITS: StoreLimits = { eventsPerMachine: 2000, attemptsPerMachine: 100 };

export interface StateStore {
  /** Fleet-wide reads in O(1) queries (the dashboard). */
  readonly fleet: FleetQueries;
  /** Dashboard sign-in sessions. */
  readonly sessions: SessionStore;
  /** The warm pool: members and claims (pool-store.ts). */
  readonly pool: PoolStore;
  /** undefined when the machine was never seen. */
  getMachine(mac: Mac): Promise<Machine | undefined>;
  /** All machines, ordered by MAC. */
  listMachines(): Promise<Machine[]>;
  /**
   * Atomically: append the event, apply the transition (machines/state.ts applyEvent), and
   * upsert the machine with the sighting's facts (replaced), profile and group and a new
   * lastSeen. With `step`, the machine's open attempt (if any) gets the state it returns,
   * and the event is attributed to it; a closed state closes it. `mac` must be canonical.
   */
  recordEvent(mac: Mac, event: NewEvent, seen?: Sighting, step?: OpenAttemptStep): Promise<Recorded>;
  /**
   * Atomically: close the machine's open attempt (state superseded), store the new one
   * (open, state served), and record `event` (attributed to it) with the sighting.
   */
  openAttempt(mac: Mac, attempt: NewAttempt, event: NewEvent, seen?: Sighting): Promise<Opened>;
  /**
   * Atomically: run `step` on the attempt as stored (it throws to refuse), set its state
   * (closing it when the state is closed), and record `event` for its machine, attributed
   * to it. NotFoundError when there is no such attempt.
   */
  recordReport(
    attemptId: number,
    event: NewEvent,
    step: AttemptStep,
  ): Promise<Recorded & { attempt: StoredAttempt }>;
  getAttempt(id: number): Promise<StoredAttempt | undefined>;
  /** The machine's open attempt; undefined when none is open. */
  openAttemptOf(mac: Mac): Promise<StoredAttempt | undefined>;
  /** The machine's attempts, newest first; `limit` keeps the newest N. */
  attempts(mac: Mac, options?: { limit?: number }): Promise<StoredAttempt[]>;
  /** Every open attempt (mirror retention keeps their releases). */
  openAttempts(): Promise<StoredAttempt[]>;
  /** The machine's events, oldest first; `limit` keeps the newest N. */
  events(mac: Mac, options?: { limit?: number }): Promise<StoredEvent[]>;
  /** The machine's newest event of `type` at or before `at` (ISO time; default: any): one query. */
  latestEvent(mac: Mac, type: EventType, at?: string): Promise<StoredEvent | undefined>;
  /**
   * Releases of `channel`/`board` that open attempts not yet installed are installing
   * (mirror retention keeps them): one query.
   */
  installingVersions(channel: string, board: string): Promise<string[]>;
  close(): Promise<void>;
  /**
   * Stores shared by several railyard instances (PostgreSQL) keep the token secret
   * (installer/credentials.ts) in the database, so every instance verifies the others'
   * tokens: created once, on first use. Absent: the secret lives in `<dataDir>/secret`.
   */
  tokenSecret?(): Promise<Buffer>;
  /** Machines changed by other instances (absent: this process's writes are all there is). */
  readonly changes?: ChangeFeed;
  /** Resolves when the store answers now; rejects (StorageError) when it cannot (/healthz). */
  ping?(): Promise<void>;
  /** Bulk copy out and in (`railyard state export | import`). */
  readonly transfer?: StateTransfer;
}

/**
 * A write committed on another instance: `mac` has event `eventId` now. `undefined`:
 * anything may have changed (the feed was interrupted and is back), drop whatever is cached.
 */
export type ChangeListener = (change: MachineChange | undefined) => void;

export interface MachineChange {
  mac: Mac;
  eventId: number;
  /** The machine's state after that event. */
  state: MachineState;
}

export interface ChangeFeed {
  subscribe(listener: ChangeListener): () => void;
}

/** Every row of a state store, in an order that can be inserted as it comes. */
export type StateRecord =
  | { kind: 'machine'; row: MachineRow & { event_count: number } }
  | { kind: 'attempt'; row: AttemptRow }
  | { kind: 'event'; row: EventRow }
  | { kind: 'session'; row: SessionRecord }
  /** The token secret (hex): in the database (PostgreSQL) or `<dataDir>/secret` (SQLite). */
  | { kind: 'secret'; name: 'token'; value: string }
  /** The update service's rows (its own tables in the same database), column → value. */
  | {
      kind: 'update-machine-id' | 'update-client' | 'update-pause';
      row: Record<string, string | number | null>;
    }
  /** A warm pool member (pool_members: its state, the disk it pooled, its claim), column → value. */
  | { kind: 'pool-member'; row: Record<string, string | number | null> };

export interface StateTransfer {
  /** Rows in insertable order: machines, attempts, events, sessions, update rows, pool members (no secret). */
  rows(): AsyncIterable<StateRecord>;
  /** True when the store holds no machine and no session. */
  isEmpty(): Promise<boolean>;
  /**
   * Insert `records` (ids kept) in one transaction; sequences move past the largest ids.
   * A `secret` record is stored where this backend keeps it; an error rolls everything back.
   */
  load(records: AsyncIterable<StateRecord>): Promise<TransferCounts>;
}

export type TransferCounts = Record<StateRecord['kind'], number>;

export type Clock = () => Date;
