// PostgreSQL statements for install attempts and per-machine retention (used inside pg.ts's
// transactions, after the machine's advisory lock is held).
import { type AttemptState, isOpen } from '../machines/attempt.ts';
import type { Mac } from '../machines/identity.ts';
import type { Queryable } from './pg-pool.ts';
import { type AttemptRow, attemptColumns, toAttempt } from './rows.ts';
import type { NewAttempt, StoredAttempt, StoreLimits } from './state-store.ts';

export async function attemptById(q: Queryable, id: number): Promise<StoredAttempt | undefined> {
  const { rows } = await q.query<AttemptRow>('SELECT * FROM attempts WHERE id = $1', [id]);
  return rows[0] && toAttempt(rows[0]);
}

export async function openAttemptOf(q: Queryable, mac: Mac): Promise<StoredAttempt | undefined> {
  const { rows } = await q.query<AttemptRow>('SELECT * FROM attempts WHERE mac = $1 AND closed_at IS NULL', [
    mac,
  ]);
  return rows[0] && toAttempt(rows[0]);
}

/** Newest first; limit null: all. */
export async function attemptsOf(q: Queryable, mac: Mac, limit: number | null): Promise<StoredAttempt[]> {
  const { rows } = await q.query<AttemptRow>(
    'SELECT * FROM attempts WHERE mac = $1 ORDER BY id DESC LIMIT $2',
    [mac, limit],
  );
  return rows.map(toAttempt);
}

export async function allOpenAttempts(q: Queryable): Promise<StoredAttempt[]> {
  const { rows } = await q.query<AttemptRow>('SELECT * FROM attempts WHERE closed_at IS NULL ORDER BY id');
  return rows.map(toAttempt);
}

export async function insertAttempt(q: Queryable, mac: Mac, a: NewAttempt, at: string): Promise<number> {
  const cols = attemptColumns(mac, a, at);
  const names = Object.keys(cols);
  const { rows } = await q.query<{ id: number }>(
    `INSERT INTO attempts (state, closed_at, ${names.join(', ')})
     VALUES ('served', NULL, ${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
    Object.values(cols),
  );
  return (rows[0] as { id: number }).id;
}

/** Set the state; a closed state also sets closedAt (once). */
export async function setAttemptState(
  q: Queryable,
  attempt: StoredAttempt,
  state: AttemptState,
  at: string,
): Promise<void> {
  const closedAt = isOpen(state) ? null : (attempt.closedAt ?? at);
  await q.query('UPDATE attempts SET state = $1, closed_at = $2 WHERE id = $3', [
    state,
    closedAt,
    attempt.id,
  ]);
}

/** `mac` now has `count` events: past the limit, delete the oldest (down to 95 %). */
export async function pruneEvents(q: Queryable, limits: StoreLimits, mac: Mac, count: number): Promise<void> {
  const limit = limits.eventsPerMachine;
  if (count <= limit) return;
  const keep = Math.max(1, limit - Math.ceil(limit / 20));
  await q.query(
    'DELETE FROM events WHERE mac = $1 AND id <= (SELECT id FROM events WHERE mac = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)',
    [mac, keep],
  );
  await setEventCount(q, mac);
}

/** Delete the oldest closed attempts (and their events) beyond the per-machine limit. */
export async function pruneAttempts(q: Queryable, limits: StoreLimits, mac: Mac): Promise<void> {
  // The open attempt is never among them; it counts towards the limit.
  const open = await openAttemptOf(q, mac);
  const closedToKeep = Math.max(0, limits.attemptsPerMachine - (open ? 1 : 0));
  const { rows } = await q.query<{ id: number }>(
    'SELECT id FROM attempts WHERE mac = $1 AND closed_at IS NOT NULL ORDER BY id DESC OFFSET $2',
    [mac, closedToKeep],
  );
  if (rows.length === 0) return;
  const ids = rows.map((r) => r.id);
  await q.query('DELETE FROM events WHERE mac = $1 AND attempt_id = ANY($2::bigint[])', [mac, ids]);
  await q.query('DELETE FROM attempts WHERE id = ANY($1::bigint[])', [ids]);
  await setEventCount(q, mac);
}

async function setEventCount(q: Queryable, mac: Mac): Promise<void> {
  await q.query(
    'UPDATE machines SET event_count = (SELECT count(*) FROM events WHERE mac = $1) WHERE mac = $1',
    [mac],
  );
}
