// FleetQueries in SQL over the state database: one statement per question, served by the
// indexes of migration 2 (events_by_type, machines_by_state) and events_by_mac.
import type Database from 'better-sqlite3';
import type { EventData, MachineState } from '../machines/state.ts';
import { ATTEMPT_START, emptyCounts, type FleetQueries } from './fleet.ts';
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
  // json_each keeps each a single prepared statement whatever the number of MACs; the
  // newest attempt start per MAC is one seek in events_by_type (type, mac, id).
  const attempt = db.prepare<[string, string, number], EventRow>(
    `WITH wanted(mac) AS (SELECT value FROM json_each(?)),
     starts AS (
       SELECT w.mac, COALESCE((SELECT MAX(e.id) FROM events e
         WHERE e.mac = w.mac AND e.type IN (SELECT value FROM json_each(?))), 0) AS since
       FROM wanted w
     )
     SELECT id, mac, type, source, at, data, state FROM (
       SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.mac ORDER BY e.id) AS n
       FROM starts s JOIN events e ON e.mac = s.mac AND e.id >= s.since
     ) WHERE n <= ? ORDER BY mac, id`,
  );
  const installs = db.prepare<[number, number], { mac: string }>(
    `SELECT mac FROM events WHERE type = 'install-script-served'
     GROUP BY mac ORDER BY MAX(id) DESC LIMIT ? OFFSET ?`,
  );
  const startTypes = JSON.stringify(ATTEMPT_START);
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
    async attemptEvents(macs, limit) {
      const out = new Map<string, StoredEvent[]>(macs.map((m) => [m, []]));
      if (macs.length === 0) return out;
      for (const r of attempt.all(JSON.stringify(macs), startTypes, limit)) {
        out.get(r.mac)?.push({ ...r, data: JSON.parse(r.data) as EventData });
      }
      return out;
    },
    async recentInstalls(offset, limit) {
      return installs.all(limit, offset).map((r) => r.mac);
    },
  };
}
