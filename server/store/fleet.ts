// Read queries for fleet views (the dashboard): each answers in one query whatever the
// fleet size, so a page costs O(1) queries, not one per machine. SQLite implements them
// in SQL (sqlite-fleet.ts); `fleetOver` derives them from the basic StateStore calls for
// the in-memory fake.
import { MACHINE_STATES, type Machine, type MachineState } from '../machines/state.ts';
import type { StoredEvent } from './state-store.ts';

/** Events that start an install attempt (machines/timeline.ts latestAttempt). */
export const ATTEMPT_START = ['install-script-served', 'reprovision-requested'] as const;

export interface MachinePageQuery {
  offset: number;
  limit: number;
  /** Only machines in this state. */
  state?: MachineState | undefined;
}

export interface FleetQueries {
  /** Machines per state; every state is present (0 when none). */
  countByState(): Promise<Record<MachineState, number>>;
  /** A page of machines ordered by MAC. */
  machinePage(query: MachinePageQuery): Promise<Machine[]>;
  /**
   * Each listed machine's events from the start of its latest install attempt (its newest
   * ATTEMPT_START event; all of them when it has none), oldest first, at most `limit`.
   */
  attemptEvents(macs: readonly string[], limit: number): Promise<Map<string, StoredEvent[]>>;
  /** MACs ordered by their newest `install-script-served`, newest first. */
  recentInstalls(offset: number, limit: number): Promise<string[]>;
}

interface BasicReads {
  listMachines(): Promise<Machine[]>;
  events(mac: string, options?: { limit?: number }): Promise<StoredEvent[]>;
}

export function emptyCounts(): Record<MachineState, number> {
  return Object.fromEntries(MACHINE_STATES.map((s) => [s, 0])) as Record<MachineState, number>;
}

/** The same answers from listMachines/events: for fakes, O(fleet) per call. */
export function fleetOver(store: BasicReads): FleetQueries {
  return {
    async countByState() {
      const counts = emptyCounts();
      for (const m of await store.listMachines()) counts[m.state]++;
      return counts;
    },
    async machinePage({ offset, limit, state }) {
      const all = await store.listMachines();
      return all.filter((m) => state === undefined || m.state === state).slice(offset, offset + limit);
    },
    async attemptEvents(macs, limit) {
      const out = new Map<string, StoredEvent[]>();
      for (const mac of macs) {
        const all = await store.events(mac);
        const since = all.findLastIndex((e) => (ATTEMPT_START as readonly string[]).includes(e.type));
        out.set(mac, all.slice(Math.max(0, since), Math.max(0, since) + limit));
      }
      return out;
    },
    async recentInstalls(offset, limit) {
      const latest: Array<[string, number]> = [];
      for (const m of await store.listMachines()) {
        const last = (await store.events(m.mac)).findLast((e) => e.type === 'install-script-served');
        if (last) latest.push([m.mac, last.id]);
      }
      latest.sort((a, b) => b[1] - a[1]);
      return latest.slice(offset, offset + limit).map(([mac]) => mac);
    },
  };
}
