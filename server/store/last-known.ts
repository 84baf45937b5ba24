// The machines this instance last recorded, for one purpose: when the shared state store is
// unreachable, an installed (or provisioned) machine still gets its disk-boot script
// (boot/service.ts, degraded). Safe because booting from disk is what an installed machine
// does anyway; nothing is ever installed from this cache. An entry is dropped as soon as
// another instance reports a newer event for the machine (the change feed) and all are
// dropped when the feed reconnects (notifications may have been missed); entries older
// than `maxAgeMs` are not used.
import { LRUCache } from 'lru-cache';
import type { Machine } from '../machines/state.ts';
import type { RecordListener } from './observed.ts';
import type { ChangeFeed } from './state-store.ts';

export const LAST_KNOWN_MAX_AGE_MS = 6 * 3_600_000;

interface Entry {
  machine: Machine;
  eventId: number;
  at: number;
}

export class LastKnownMachines {
  readonly #entries: LRUCache<string, Entry>;
  /** The newest event id other instances reported per machine: older writes of ours lost the race. */
  readonly #newest: LRUCache<string, number>;
  readonly #maxAgeMs: number;
  readonly #now: () => number;

  constructor(feed: ChangeFeed, options: { max?: number; maxAgeMs?: number; now?: () => number } = {}) {
    this.#entries = new LRUCache({ max: options.max ?? 100_000 });
    this.#newest = new LRUCache({ max: options.max ?? 100_000 });
    this.#maxAgeMs = options.maxAgeMs ?? LAST_KNOWN_MAX_AGE_MS;
    this.#now = options.now ?? Date.now;
    feed.subscribe((change) => {
      if (!change) {
        this.#entries.clear();
        return;
      }
      this.#newest.set(change.mac, Math.max(change.eventId, this.#newest.get(change.mac) ?? 0));
      const entry = this.#entries.peek(change.mac);
      if (entry && entry.eventId < change.eventId) this.#entries.delete(change.mac);
    });
  }

  /** For observeStore: every write of this instance. */
  readonly listener: RecordListener = ({ machine, event }) => {
    if ((this.#newest.get(machine.mac) ?? 0) >= event.id) return;
    this.#entries.set(machine.mac, { machine, eventId: event.id, at: this.#now() });
  };

  /** The machine as last recorded here, if recent and not changed elsewhere since. */
  get(mac: string): Machine | undefined {
    const entry = this.#entries.get(mac);
    if (!entry || this.#now() - entry.at > this.#maxAgeMs) return undefined;
    return entry.machine;
  }
}
