// What railyard knows about one update client (an installed system, by machine-id), and the
// store seam that keeps it. A client either maps to a machine railyard installed (its
// first-boot report carried the machine-id) or is "unknown" (mac null): served by its track's
// policy and kept in a bounded table.
import type { Mac } from '../machines/identity.ts';

export const UPDATE_STATES = [
  'idle',
  'offered',
  'downloading',
  'downloaded',
  'installed',
  'complete',
  'failed',
  'deferred',
] as const;
export type UpdateState = (typeof UPDATE_STATES)[number];

/** States in which the client holds a rollout slot (until completion, error or slot timeout). */
export const SLOT_STATES: ReadonlySet<UpdateState> = new Set([
  'offered',
  'downloading',
  'downloaded',
  'installed',
]);

export interface UpdateClient {
  machineId: string;
  /** The machine railyard installed, or null for an unknown machine-id. */
  mac: Mac | null;
  /** Rollout pool (group id) of the latest decision; null when no policy applied. */
  group: string | null;
  track: string;
  board: string;
  oem: string;
  /** The version it runs (latest request). */
  version: string;
  /** The version offered to it (kept after completion: what it updated to). */
  target: string | null;
  state: UpdateState;
  /** When the held slot last saw progress; null = no slot. */
  slotSince: string | null;
  lastCheck: string | null;
  /** `offered`, a noupdate reason, or the latest event (`download-started`, …). */
  lastResult: string | null;
  /** Base action code of the latest error event (flags stripped). */
  errorCode: number | null;
  ip: string;
  firstSeen: string;
  lastSeen: string;
}

export type BindResult = { ok: true } | { ok: false; boundTo: Mac };

export interface PauseRecord {
  group: string;
  at: string;
  by: string;
}

/** Counts over every client: one query, whatever the fleet's size. */
export interface UpdateSummary {
  total: number;
  unknown: number;
  /** Clients by running version (`''` when a request named none); unsorted. */
  versions: Array<{ version: string; machines: number }>;
}

export interface UpdateStore {
  /** The MAC a machine-id was bound to by its first-boot report. */
  macFor(machineId: string): Promise<Mac | undefined>;
  /**
   * Bind machine-id → MAC (first-boot report). A MAC's earlier machine-ids (reinstalls) go,
   * with their client records; a machine-id already bound to another MAC is not taken over.
   */
  bind(machineId: string, mac: Mac, at: string): Promise<BindResult>;
  get(machineId: string): Promise<UpdateClient | undefined>;
  /** The client record of a machine railyard installed (its current machine-id). */
  forMac(mac: Mac): Promise<UpdateClient | undefined>;
  /** Clients in a stable order (known machines by MAC, then unknown ones); `page` bounds it. */
  list(page?: { offset: number; limit: number }): Promise<UpdateClient[]>;
  summary(): Promise<UpdateSummary>;
  /**
   * Upsert. A new unknown client beyond `maxUnknown` evicts the least recently seen unknown
   * one that holds no slot; false (nothing written) when none can go.
   */
  save(client: UpdateClient, maxUnknown: number): Promise<boolean>;
  /**
   * Atomically: when fewer than `max` other clients of `client.group` hold a slot that saw
   * progress at or after `cutoff`, save `client` (holding its slot) and return true; else
   * write nothing and return false.
   */
  takeSlot(client: UpdateClient, max: number, cutoff: string): Promise<boolean>;
  /** Clients of `group` holding a live slot (progress at or after `cutoff`). */
  slotsInUse(group: string, cutoff: string): Promise<number>;
  /** Versions clients hold live slots for, on `board` (mirror retention keeps them). */
  targets(board: string, cutoff: string): Promise<string[]>;
  pauses(): Promise<PauseRecord[]>;
  setPaused(group: string, paused: boolean, at: string, by: string): Promise<void>;
  close(): Promise<void>;
}
