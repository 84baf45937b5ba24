// State store fakes for tests of other modules (routes, /ipxe, CLI): `memoryStore()` keeps
// everything in maps (same semantics as SQLite, via the same reducer); `brokenStore()`
// fails every call, so a storage failure can be shown to be a 500 and never a 404.
import { applyEvent, type Machine, newMachine } from '../machines/state.ts';
import { fleetOver } from './fleet.ts';
import { memorySessions } from './sessions.ts';
import type { Clock, NewEvent, Recorded, Sighting, StateStore, StoredEvent } from './state-store.ts';

export function memoryStore(clock: Clock = () => new Date()): StateStore {
  const machines = new Map<string, Machine>();
  const log: StoredEvent[] = [];
  const store: StateStore = {
    get fleet() {
      return fleet;
    },
    sessions: memorySessions(),
    async getMachine(mac) {
      return machines.get(mac);
    },
    async listMachines() {
      return [...machines.values()].sort((a, b) => (a.mac < b.mac ? -1 : 1));
    },
    async recordEvent(mac: string, event: NewEvent, seen: Sighting = {}): Promise<Recorded> {
      const at = event.at ?? clock().toISOString();
      const data = event.data ?? {};
      const next = applyEvent(machines.get(mac) ?? newMachine(mac, at), {
        type: event.type,
        source: event.source,
        at,
        data,
      });
      const machine: Machine = {
        ...next,
        facts: { ...next.facts, ...seen.facts },
        profile: seen.profile ?? next.profile,
        group: seen.group ?? next.group,
      };
      machines.set(mac, machine);
      const stored: StoredEvent = {
        id: log.length + 1,
        mac,
        type: event.type,
        source: event.source,
        at,
        data,
        state: machine.state,
      };
      log.push(stored);
      return { machine, event: stored };
    },
    async events(mac, options = {}) {
      const all = log.filter((e) => e.mac === mac);
      return options.limit === undefined ? all : all.slice(-options.limit);
    },
    async close() {},
  };
  const fleet = fleetOver(store);
  return store;
}

export function brokenStore(message = 'state store is broken (test fake)'): StateStore {
  const fail = async (): Promise<never> => {
    throw new Error(message);
  };
  return {
    fleet: { countByState: fail, machinePage: fail, attemptEvents: fail, recentInstalls: fail },
    sessions: { create: fail, get: fail, delete: fail, prune: fail },
    getMachine: fail,
    listMachines: fail,
    recordEvent: fail,
    events: fail,
    close: async () => {},
  };
}
