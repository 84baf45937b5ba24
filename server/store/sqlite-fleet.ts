// FleetQueries in SQL over the state database: one statement per question, served by the
// indexes of migration 2 (events_by_type, machines_by_state) and events_by_mac.
import type Database from 'better-sqlite3';
import type { EventData, MachineState } from '../machines/state.ts';
import { emptyCounts, FINISH_EVENTS, type FleetQueries } from './fleet.ts';
import { type MachineRow, toMachine } from './sqlite.ts';
import type { StoredEvent } from './state-store.ts';

interface EventRow extends Omit<StoredEvent, 'data'> {
  data: string;
}

export function sqliteFleet(db: Database.Database): FleetQueries {
  const counts = db.prepare<[], { state: MachineState; n: number }>(
    'SELECT state, COUNT(*) AS n FROM machines GROUP BY state',
  );
  const page = db.prepare<[number, number], MachineRow>(
    'SELECT * FROM machines ORDER BY mac LIMIT ? OFFSET ?',
  );
  const pageIn = db.prepare<[string, number, number], MachineRow>(
    'SELECT * FROM machines WHERE state = ? ORDER BY mac LIMIT ? OFFSET ?',
  );
  // json_each keeps it one prepared statement whatever the number of MACs.
  const recent = db.prepare<[string, number], EventRow>(
    `SELECT id, mac, type, source, at, data, state FROM (
       SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.mac ORDER BY e.id DESC) AS n
       FROM events e WHERE e.mac IN (SELECT value FROM json_each(?))
     ) WHERE n <= ? ORDER BY mac, id`,
  );
  const finished = db.prepare<[string, number, number], { mac: string }>(
    `SELECT mac FROM events WHERE type IN (SELECT value FROM json_each(?))
     GROUP BY mac ORDER BY MAX(id) DESC LIMIT ? OFFSET ?`,
  );
  const finishTypes = JSON.stringify(FINISH_EVENTS);
  return {
    async countByState() {
      const out = emptyCounts();
      for (const r of counts.all()) out[r.state] = r.n;
      return out;
    },
    async machinePage({ offset, limit, state }) {
      const rows = state === undefined ? page.all(limit, offset) : pageIn.all(state, limit, offset);
      return rows.map(toMachine);
    },
    async recentEvents(macs, perMachine) {
      const out = new Map<string, StoredEvent[]>(macs.map((m) => [m, []]));
      if (macs.length === 0) return out;
      for (const r of recent.all(JSON.stringify(macs), perMachine)) {
        out.get(r.mac)?.push({ ...r, data: JSON.parse(r.data) as EventData });
      }
      return out;
    },
    async recentlyFinished(offset, limit) {
      return finished.all(finishTypes, limit, offset).map((r) => r.mac);
    },
  };
}
