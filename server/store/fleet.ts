// Read queries for fleet views (the dashboard): each answers in one query whatever the
// fleet size, so a page costs O(1) queries, not one per machine. SQLite implements them
// in SQL (sqlite-fleet.ts); `fleetOver` derives them from the basic StateStore calls for
// the in-memory store.
import type { Mac } from '../machines/identity.ts';
import { MACHINE_STATES, type Machine, type MachineState } from '../machines/state.ts';
import type { StoredAttempt, StoredEvent } from './state-store.ts';

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
   * Each listed machine's events of its latest install attempt (the newest, open or
   * closed), oldest first, at most `limit`; a machine with no attempt: its newest `limit`
   * events. The same events the machine page draws its timeline from.
   */
  attemptEvents(macs: readonly Mac[], limit: number): Promise<Map<string, StoredEvent[]>>;
  /** The open attempt of each listed machine that has one. */
  openAttemptsOf(macs: readonly Mac[]): Promise<Map<string, StoredAttempt>>;
  /**
   * The events (oldest first, at most `eventLimit` each) of the latest `limit` attempts
   * that ended provisioned, the most recently closed first.
   */
  provisionedInstalls(limit: number, eventLimit: number): Promise<StoredEvent[][]>;
}

interface BasicReads {
  listMachines(): Promise<Machine[]>;
  events(mac: Mac, options?: { limit?: number }): Promise<StoredEvent[]>;
  attempts(mac: Mac, options?: { limit?: number }): Promise<StoredAttempt[]>;
  openAttemptOf(mac: Mac): Promise<StoredAttempt | undefined>;
}

export function emptyCounts(): Record<MachineState, number> {
  return Object.fromEntries(MACHINE_STATES.map((s) => [s, 0])) as Record<MachineState, number>;
}

/** The same answers from listMachines/events/attempts: for the in-memory store, O(fleet) per call. */
export function fleetOver(store: BasicReads): FleetQueries {
  const eventsOf = async (a: StoredAttempt, limit: number) =>
    (await store.events(a.mac)).filter((e) => e.attemptId === a.id).slice(0, limit);
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
        const [latest] = await store.attempts(mac, { limit: 1 });
        out.set(mac, latest ? await eventsOf(latest, limit) : await store.events(mac, { limit }));
      }
      return out;
    },
    async openAttemptsOf(macs) {
      const out = new Map<string, StoredAttempt>();
      for (const mac of macs) {
        const open = await store.openAttemptOf(mac);
        if (open) out.set(mac, open);
      }
      return out;
    },
    async provisionedInstalls(limit, eventLimit) {
      const done: StoredAttempt[] = [];
      for (const m of await store.listMachines())
        done.push(...(await store.attempts(m.mac)).filter((a) => a.state === 'provisioned'));
      done.sort((a, b) => byNewestClose(a, b));
      return Promise.all(done.slice(0, limit).map((a) => eventsOf(a, eventLimit)));
    },
  };
}

/** Most recently closed first; ties: the newer attempt first. */
function byNewestClose(a: StoredAttempt, b: StoredAttempt): number {
  const x = a.closedAt ?? '';
  const y = b.closedAt ?? '';
  return x < y ? 1 : x > y ? -1 : b.id - a.id;
}
