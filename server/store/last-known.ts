// Each machine's state as last recorded by this instance or reported by the others (the
// change feed carries it), for one purpose: when the shared state store is unreachable, an
// installed (or provisioned) machine still gets its disk-boot script (boot/service.ts,
// degraded). Safe because booting from disk is what an installed machine does anyway;
// nothing is ever installed from this cache. The newest event id wins (a write of ours that
// lost the race to another instance's is not remembered); everything is dropped when the
// feed reconnects (notifications may have been missed); entries older than `maxAgeMs` are
// not used.
import { LRUCache } from 'lru-cache';
import type { Mac } from '../machines/identity.ts';
import { type Machine, type MachineState, newMachine } from '../machines/state.ts';
import type { RecordListener } from './observed.ts';
import type { ChangeFeed } from './state-store.ts';

export const LAST_KNOWN_MAX_AGE_MS = 6 * 3_600_000;

interface Entry {
  state: MachineState;
  eventId: number;
  at: number;
}

export class LastKnownMachines {
  readonly #entries: LRUCache<string, Entry>;
  readonly #maxAgeMs: number;
  readonly #now: () => number;

  constructor(feed: ChangeFeed, options: { max?: number; maxAgeMs?: number; now?: () => number } = {}) {
    this.#entries = new LRUCache({ max: options.max ?? 100_000 });
    this.#maxAgeMs = options.maxAgeMs ?? LAST_KNOWN_MAX_AGE_MS;
    this.#now = options.now ?? Date.now;
    feed.subscribe((change) => {
      if (!change) {
        this.#entries.clear();
        return;
      }
      this.#remember(change.mac, change.state, change.eventId);
    });
  }

  /** For observeStore: every write of this instance. */
  readonly listener: RecordListener = ({ machine, event }) =>
    this.#remember(machine.mac, machine.state, event.id);

  #remember(mac: Mac, state: MachineState, eventId: number): void {
    const entry = this.#entries.peek(mac);
    if (entry && entry.eventId >= eventId) return;
    this.#entries.set(mac, { state, eventId, at: this.#now() });
  }

  /**
   * The machine's last known state (as a machine with nothing else known), if recent; for
   * the boot decision only.
   */
  get(mac: Mac): Machine | undefined {
    const entry = this.#entries.get(mac);
    if (!entry || this.#now() - entry.at > this.#maxAgeMs) return undefined;
    return { ...newMachine(mac, new Date(entry.at).toISOString()), state: entry.state };
  }
}
