// Which slot a new request takes when the server (or its client) is full. Only a slot whose
// client never answered can go, and in this order:
//   1. a transfer from a "suspect" address: one whose earlier transfer was already evicted
//      for never answering and that asked again (a forged flood repeats its sources);
//   2. a slot of a suspect address still opening its file and socket;
//   3. any transfer that never heard from its client, oldest first;
//   4. any slot still opening, oldest first.
// Without 1–2, a flood that replaces evicted slots quickly makes a real client's fresh
// transfer the oldest silent one before its first ACK is read (a loaded server reads late);
// without 2 and 4, a flood whose slots are all still opening (slow disk, busy event loop)
// left nothing to evict and every real client got "busy".

/** What eviction needs to know about a slot (server.ts Slot). */
export interface EvictableSlot {
  ip: string;
  /** Undefined while the file and socket are being opened. */
  transfer?: { answered: boolean };
}

const SUSPECTS_MAX = 4096;

/** Addresses whose transfer was evicted unanswered, bounded (oldest forgotten first). */
export class SuspectAddresses {
  readonly #ips = new Map<string, true>();

  add(ip: string): void {
    this.#ips.delete(ip);
    this.#ips.set(ip, true);
    if (this.#ips.size > SUSPECTS_MAX) this.#ips.delete(this.#ips.keys().next().value as string);
  }

  /** A completed transfer clears its address. */
  clear(ip: string): void {
    this.#ips.delete(ip);
  }

  has(ip: string): boolean {
    return this.#ips.has(ip);
  }
}

/** The slot to evict among `slots` (oldest first), matching `which`; undefined when none may go. */
export function pickVictim<S extends EvictableSlot>(
  slots: Iterable<S>,
  suspects: SuspectAddresses,
  which: (slot: S) => boolean,
): S | undefined {
  const best: Array<S | undefined> = [undefined, undefined, undefined, undefined];
  for (const slot of slots) {
    if (slot.transfer?.answered || !which(slot)) continue;
    const rank = (suspects.has(slot.ip) ? 0 : 2) + (slot.transfer ? 0 : 1);
    if (rank === 0) return slot;
    best[rank] ??= slot;
  }
  return best.find((s) => s !== undefined);
}
