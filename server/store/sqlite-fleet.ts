// FleetQueries in SQL over the state database: one statement per question, served by the
// indexes of migration 3 (machines_by_state, events_by_attempt, attempts_provisioned),
// attempts_by_mac and events_by_mac.
import type Database from 'better-sqlite3';
import type { MachineState } from '../machines/state.ts';
import { emptyCounts, type FleetQueries } from './fleet.ts';
import { type AttemptRow, type EventRow, type MachineRow, toAttempt, toEvent, toMachine } from './rows.ts';
import type { StoredAttempt, StoredEvent } from './state-store.ts';

const COLUMNS = 'id, mac, type, source, at, data, state, attempt_id';

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
  // json_each keeps each a single prepared statement whatever the number of MACs. The
  // latest attempt per MAC is one seek in attempts_by_mac; its events one range of
  // events_by_attempt. Machines without an attempt: their newest events (events_by_mac).
  // CROSS JOIN keeps the listed MACs as the outer loop: SQLite must never scan all events.
  const latest = db.prepare<[string, number], EventRow>(
    `WITH wanted(mac) AS (SELECT DISTINCT value FROM json_each(?)),
     latest AS (
       SELECT w.mac, (SELECT MAX(a.id) FROM attempts a WHERE a.mac = w.mac) AS attempt FROM wanted w
     )
     SELECT ${COLUMNS} FROM (
       SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.attempt_id ORDER BY e.id) AS n
       FROM latest l CROSS JOIN events e ON e.attempt_id = l.attempt AND e.mac = l.mac
       UNION ALL
       SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.mac ORDER BY e.id DESC) AS n
       FROM latest l CROSS JOIN events e ON e.mac = l.mac WHERE l.attempt IS NULL
     ) WHERE n <= ? ORDER BY mac, id`,
  );
  // The partial unique index attempts_open_per_machine answers each MAC.
  const open = db.prepare<[string], AttemptRow>(
    'SELECT * FROM attempts WHERE closed_at IS NULL AND mac IN (SELECT value FROM json_each(?))',
  );
  const provisioned = db.prepare<[number, number], EventRow & { closed: string }>(
    `WITH done AS (
       SELECT id, closed_at FROM attempts WHERE state = 'provisioned'
       ORDER BY closed_at DESC, id DESC LIMIT ?
     )
     SELECT ${COLUMNS}, closed FROM (
       SELECT e.*, d.closed_at AS closed, ROW_NUMBER() OVER (PARTITION BY e.attempt_id ORDER BY e.id) AS n
       FROM done d CROSS JOIN events e ON e.attempt_id = d.id
     ) WHERE n <= ? ORDER BY closed DESC, attempt_id DESC, id`,
  );
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
      for (const r of latest.all(JSON.stringify(macs), limit)) out.get(r.mac)?.push(toEvent(r));
      return out;
    },
    async openAttemptsOf(macs) {
      const out = new Map<string, StoredAttempt>();
      if (macs.length === 0) return out;
      for (const r of open.all(JSON.stringify(macs))) out.set(r.mac, toAttempt(r));
      return out;
    },
    async provisionedInstalls(limit, eventLimit) {
      const out: StoredEvent[][] = [];
      let current: number | null | undefined;
      for (const { closed: _closed, ...r } of provisioned.all(limit, eventLimit)) {
        if (r.attempt_id !== current) out.push([]);
        current = r.attempt_id;
        out.at(-1)?.push(toEvent(r));
      }
      return out;
    },
  };
}
