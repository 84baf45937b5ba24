// The state store seam: what routes, /ipxe and the CLI need to persist machines and their
// events. SQLite (sqlite.ts) is the default; another backend (PostgreSQL) implements the
// same interface and is chosen in main.ts, without touching routes.
import type { Facts } from '../machines/identity.ts';
import type {
  EventData,
  EventSource,
  EventType,
  Machine,
  MachineEvent,
  MachineState,
} from '../machines/state.ts';
import type { FleetQueries } from './fleet.ts';
import type { SessionStore } from './sessions.ts';

export interface NewEvent {
  type: EventType;
  source: EventSource;
  data?: EventData;
  /** Defaults to the store's clock. */
  at?: string;
}

/** What the request that caused the event tells us about the machine (merged into the record). */
export interface Sighting {
  facts?: Facts;
  profile?: string;
  group?: string;
}

export interface StoredEvent extends MachineEvent {
  /** Monotonic per store: the order events were recorded in. */
  id: number;
  mac: string;
  /** The machine's state after this event. */
  state: MachineState;
}

export interface Recorded {
  machine: Machine;
  event: StoredEvent;
}

export interface StateStore {
  /** Fleet-wide reads in O(1) queries (the dashboard). */
  readonly fleet: FleetQueries;
  /** Dashboard sign-in sessions. */
  readonly sessions: SessionStore;
  /** undefined when the machine was never seen. */
  getMachine(mac: string): Promise<Machine | undefined>;
  /** All machines, ordered by MAC. */
  listMachines(): Promise<Machine[]>;
  /**
   * Atomically: append the event, apply the transition (machines/state.ts applyEvent), and
   * upsert the machine with the sighting's facts, profile and group and a new lastSeen.
   * `mac` must already be canonical.
   */
  recordEvent(mac: string, event: NewEvent, seen?: Sighting): Promise<Recorded>;
  /** The machine's events, oldest first; `limit` keeps the newest N. */
  events(mac: string, options?: { limit?: number }): Promise<StoredEvent[]>;
  close(): Promise<void>;
}

export type Clock = () => Date;
