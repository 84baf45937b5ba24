// SQLite statements and row mapping for install attempts and per-machine retention (used
// inside sqlite.ts's transactions).
import type Database from 'better-sqlite3';
import { type AttemptState, isOpen } from '../machines/attempt.ts';
import type { Mac } from '../machines/identity.ts';
import { type AttemptRow, attemptColumns, toAttempt } from './rows.ts';
import type { NewAttempt, StoredAttempt, StoreLimits } from './state-store.ts';

export class AttemptStatements {
  readonly #byId;
  readonly #openOf;
  readonly #ofMachine;
  readonly #allOpen;
  readonly #insert;
  readonly #setState;
  readonly #beyond;
  readonly #deleteAttempt;
  readonly #deleteEventsOf;
  readonly #pruneEvents;
  readonly #setEventCount;
  readonly #limits: StoreLimits;

  constructor(db: Database.Database, limits: StoreLimits) {
    this.#limits = limits;
    this.#byId = db.prepare<[number], AttemptRow>('SELECT * FROM attempts WHERE id = ?');
    this.#openOf = db.prepare<[string], AttemptRow>(
      'SELECT * FROM attempts WHERE mac = ? AND closed_at IS NULL',
    );
    this.#ofMachine = db.prepare<[string, number], AttemptRow>(
      'SELECT * FROM attempts WHERE mac = ? ORDER BY id DESC LIMIT ?',
    );
    this.#allOpen = db.prepare<[], AttemptRow>('SELECT * FROM attempts WHERE closed_at IS NULL ORDER BY id');
    this.#insert = db.prepare(
      `INSERT INTO attempts (mac, state, grp, profile, profile_revision, group_revision, channel, board,
         version, install_disk, phone_home, facts, client_ip, opened_at, closed_at, nonce,
         install_token_hash, first_boot_token_hash)
       VALUES (@mac, 'served', @grp, @profile, @profile_revision, @group_revision, @channel, @board,
         @version, @install_disk, @phone_home, @facts, @client_ip, @opened_at, NULL, @nonce,
         @install_token_hash, @first_boot_token_hash)`,
    );
    this.#setState = db.prepare<[AttemptState, string | null, number]>(
      'UPDATE attempts SET state = ?, closed_at = ? WHERE id = ?',
    );
    this.#beyond = db.prepare<[string, number], { id: number }>(
      'SELECT id FROM attempts WHERE mac = ? AND closed_at IS NOT NULL ORDER BY id DESC LIMIT -1 OFFSET ?',
    );
    this.#deleteAttempt = db.prepare<[number]>('DELETE FROM attempts WHERE id = ?');
    // By machine first: the (mac, id) index bounds the scan to this machine's events.
    this.#deleteEventsOf = db.prepare<[string, number]>(
      'DELETE FROM events WHERE mac = ? AND attempt_id = ?',
    );
    this.#pruneEvents = db.prepare<[string, string, number]>(
      'DELETE FROM events WHERE mac = ? AND id <= (SELECT id FROM events WHERE mac = ? ORDER BY id DESC LIMIT 1 OFFSET ?)',
    );
    this.#setEventCount = db.prepare<[string, string]>(
      'UPDATE machines SET event_count = (SELECT count(*) FROM events WHERE mac = ?) WHERE mac = ?',
    );
  }

  get(id: number): StoredAttempt | undefined {
    const row = this.#byId.get(id);
    return row ? toAttempt(row) : undefined;
  }

  openOf(mac: Mac): StoredAttempt | undefined {
    const row = this.#openOf.get(mac);
    return row ? toAttempt(row) : undefined;
  }

  ofMachine(mac: Mac, limit: number): StoredAttempt[] {
    return this.#ofMachine.all(mac, limit).map(toAttempt);
  }

  allOpen(): StoredAttempt[] {
    return this.#allOpen.all().map(toAttempt);
  }

  insert(mac: Mac, a: NewAttempt, at: string): number {
    const { lastInsertRowid } = this.#insert.run(attemptColumns(mac, a, at));
    return Number(lastInsertRowid);
  }

  /** Set the state; a closed state also sets closedAt (once). */
  setState(attempt: StoredAttempt, state: AttemptState, at: string): void {
    const closedAt = isOpen(state) ? null : (attempt.closedAt ?? at);
    this.#setState.run(state, closedAt, attempt.id);
  }

  /** `mac` now has `count` events: past the limit, delete the oldest (down to 95 %). */
  pruneEvents(mac: Mac, count: number): void {
    const limit = this.#limits.eventsPerMachine;
    if (count <= limit) return;
    const keep = Math.max(1, limit - Math.ceil(limit / 20));
    this.#pruneEvents.run(mac, mac, keep);
    this.#setEventCount.run(mac, mac);
  }

  /** Delete the oldest closed attempts (and their events) beyond the per-machine limit. */
  pruneAttempts(mac: Mac): void {
    // The open attempt is never among them; it counts towards the limit.
    const closedToKeep = Math.max(0, this.#limits.attemptsPerMachine - (this.#openOf.get(mac) ? 1 : 0));
    const old = this.#beyond.all(mac, closedToKeep);
    if (old.length === 0) return;
    for (const { id } of old) {
      this.#deleteEventsOf.run(mac, id);
      this.#deleteAttempt.run(id);
    }
    this.#setEventCount.run(mac, mac);
  }
}
