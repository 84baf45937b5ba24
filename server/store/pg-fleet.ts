// FleetQueries in SQL over PostgreSQL: one statement per question, the same indexes as
// SQLite's (pg-migrations.ts), the listed MACs passed as one text[] parameter.
import type { MachineState } from '../machines/state.ts';
import { emptyCounts, type FleetQueries } from './fleet.ts';
import { guarded, type Queryable } from './pg-pool.ts';
import { type AttemptRow, type EventRow, type MachineRow, toAttempt, toEvent, toMachine } from './rows.ts';
import type { StoredAttempt, StoredEvent } from './state-store.ts';

const COLUMNS = 'id, mac, type, source, at, data, state, attempt_id';

// The latest attempt per MAC is one index seek (attempts_by_mac); its events one range of
// events_by_attempt; machines without an attempt: their newest events (events_by_mac).
const LATEST = `
  WITH wanted AS (SELECT DISTINCT unnest($1::text[]) AS mac),
  latest AS (SELECT w.mac, (SELECT MAX(a.id) FROM attempts a WHERE a.mac = w.mac) AS attempt FROM wanted w)
  SELECT ${COLUMNS} FROM (
    SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.attempt_id ORDER BY e.id) AS n
    FROM latest l JOIN events e ON e.attempt_id = l.attempt AND e.mac = l.mac
    UNION ALL
    SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.mac ORDER BY e.id DESC) AS n
    FROM latest l JOIN events e ON e.mac = l.mac WHERE l.attempt IS NULL
  ) x WHERE n <= $2 ORDER BY mac, id`;

const PROVISIONED = `
  WITH done AS (
    SELECT id, closed_at FROM attempts WHERE state = 'provisioned' ORDER BY closed_at DESC, id DESC LIMIT $1
  )
  SELECT ${COLUMNS}, closed FROM (
    SELECT e.*, d.closed_at AS closed, ROW_NUMBER() OVER (PARTITION BY e.attempt_id ORDER BY e.id) AS n
    FROM done d JOIN events e ON e.attempt_id = d.id
  ) x WHERE n <= $2 ORDER BY closed DESC, attempt_id DESC, id`;

export function pgFleet(q: Queryable): FleetQueries {
  return {
    countByState: () =>
      guarded(async () => {
        const out = emptyCounts();
        const { rows } = await q.query<{ state: MachineState; n: number }>(
          'SELECT state, COUNT(*) AS n FROM machines GROUP BY state',
        );
        for (const r of rows) out[r.state] = r.n;
        return out;
      }),
    machinePage: ({ offset, limit, state }) =>
      guarded(async () => {
        const { rows } =
          state === undefined
            ? await q.query<MachineRow>('SELECT * FROM machines ORDER BY mac LIMIT $1 OFFSET $2', [
                limit,
                offset,
              ])
            : await q.query<MachineRow>(
                'SELECT * FROM machines WHERE state = $1 ORDER BY mac LIMIT $2 OFFSET $3',
                [state, limit, offset],
              );
        return rows.map(toMachine);
      }),
    attemptEvents: (macs, limit) =>
      guarded(async () => {
        const out = new Map<string, StoredEvent[]>(macs.map((m) => [m, []]));
        if (macs.length === 0) return out;
        const { rows } = await q.query<EventRow>(LATEST, [macs, limit]);
        for (const r of rows) out.get(r.mac)?.push(toEvent(r));
        return out;
      }),
    openAttemptsOf: (macs) =>
      guarded(async () => {
        const out = new Map<string, StoredAttempt>();
        if (macs.length === 0) return out;
        const { rows } = await q.query<AttemptRow>(
          'SELECT * FROM attempts WHERE closed_at IS NULL AND mac = ANY($1::text[])',
          [macs],
        );
        for (const r of rows) out.set(r.mac, toAttempt(r));
        return out;
      }),
    provisionedInstalls: (limit, eventLimit) =>
      guarded(async () => {
        const out: StoredEvent[][] = [];
        let current: number | null | undefined;
        const { rows } = await q.query<EventRow & { closed: string }>(PROVISIONED, [limit, eventLimit]);
        for (const { closed: _closed, ...r } of rows) {
          if (r.attempt_id !== current) out.push([]);
          current = r.attempt_id;
          out.at(-1)?.push(toEvent(r));
        }
        return out;
      }),
  };
}
