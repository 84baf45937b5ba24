// The update store in the state database (its own tables and schema version, in a table of
// its own, so it migrates independently of the machine store; a second connection to the
// same WAL file; the machine store's migrations are PRAGMA user_version, which this never
// touches, so either side adds migrations without renumbering the other). Slot decisions are one IMMEDIATE transaction: concurrent checks, even from
// several processes, never put more than maxConcurrent clients in a slot.
import Database from 'better-sqlite3';
import { ConfigError, errorMessage } from '../errors.ts';
import { type Mac, storedMac } from '../machines/identity.ts';
import { ownerOnly } from '../store/open.ts';
import type { BindResult, PauseRecord, UpdateClient, UpdateStore, UpdateSummary } from './client.ts';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE update_machine_ids (
     machine_id TEXT PRIMARY KEY,
     mac TEXT NOT NULL UNIQUE,
     bound_at TEXT NOT NULL
   ) STRICT;
   CREATE TABLE update_clients (
     machine_id TEXT PRIMARY KEY,
     mac TEXT,
     grp TEXT,
     track TEXT NOT NULL,
     board TEXT NOT NULL,
     oem TEXT NOT NULL,
     version TEXT NOT NULL,
     target TEXT,
     state TEXT NOT NULL,
     slot_since TEXT,
     last_check TEXT,
     last_result TEXT,
     error_code INTEGER,
     ip TEXT NOT NULL,
     first_seen TEXT NOT NULL,
     last_seen TEXT NOT NULL
   ) STRICT;
   CREATE INDEX update_clients_mac ON update_clients(mac);
   CREATE INDEX update_clients_slots ON update_clients(grp, slot_since);
   CREATE TABLE update_pauses (grp TEXT PRIMARY KEY, at TEXT NOT NULL, by TEXT NOT NULL) STRICT;`,
];

interface Row {
  machine_id: string;
  mac: string | null;
  grp: string | null;
  track: string;
  board: string;
  oem: string;
  version: string;
  target: string | null;
  state: UpdateClient['state'];
  slot_since: string | null;
  last_check: string | null;
  last_result: string | null;
  error_code: number | null;
  ip: string;
  first_seen: string;
  last_seen: string;
}

export function openSqliteUpdateStore(file: string): UpdateStore {
  let db: Database.Database;
  ownerOnly(file); // state.db and its WAL files are 0600, whichever connection creates them
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 10000');
    migrate(db, file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${file}: cannot open the update tables: ${errorMessage(err)}`, { file });
  }
  return new SqliteUpdateStore(db);
}

function migrate(db: Database.Database, file: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS update_schema (version INTEGER NOT NULL) STRICT');
  const current =
    (db.prepare('SELECT max(version) AS v FROM update_schema').get() as { v: number | null }).v ?? 0;
  if (current > MIGRATIONS.length)
    throw new ConfigError(
      `${file}: update tables schema version ${current} is newer than this railyard supports (${MIGRATIONS.length})`,
      { file },
    );
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.prepare('INSERT INTO update_schema (version) VALUES (?)').run(v + 1);
    }).immediate();
  }
}

const COLUMNS =
  'machine_id, mac, grp, track, board, oem, version, target, state, slot_since, last_check, last_result, error_code, ip, first_seen, last_seen';

class SqliteUpdateStore implements UpdateStore {
  readonly #db: Database.Database;
  readonly #get;
  readonly #upsert;
  readonly #slots;
  readonly #unknownCount;
  readonly #evictable;
  readonly #save;
  readonly #take;
  readonly #bind;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#get = db.prepare<[string], Row>('SELECT * FROM update_clients WHERE machine_id = ?');
    this.#upsert = db.prepare<[Row]>(
      `INSERT INTO update_clients (${COLUMNS}) VALUES (${COLUMNS.split(', ')
        .map((c) => `@${c}`)
        .join(', ')})
       ON CONFLICT(machine_id) DO UPDATE SET ${COLUMNS.split(', ')
         .filter((c) => c !== 'machine_id' && c !== 'first_seen')
         .map((c) => `${c} = excluded.${c}`)
         .join(', ')}`,
    );
    this.#slots = db.prepare<[string, string, string], { n: number }>(
      'SELECT count(*) AS n FROM update_clients WHERE grp = ? AND slot_since >= ? AND machine_id != ?',
    );
    this.#unknownCount = db.prepare<[], { n: number }>(
      'SELECT count(*) AS n FROM update_clients WHERE mac IS NULL',
    );
    this.#evictable = db.prepare<[], { machine_id: string }>(
      'SELECT machine_id FROM update_clients WHERE mac IS NULL AND slot_since IS NULL ORDER BY last_seen LIMIT 1',
    );
    this.#save = db.transaction((client: UpdateClient, maxUnknown: number): boolean => {
      const exists = this.#get.get(client.machineId) !== undefined;
      if (!exists && client.mac === null && this.#unknownCount.get()!.n >= maxUnknown) {
        const victim = this.#evictable.get();
        if (!victim) return false;
        db.prepare('DELETE FROM update_clients WHERE machine_id = ?').run(victim.machine_id);
      }
      this.#upsert.run(toRow(client));
      return true;
    });
    this.#take = db.transaction((client: UpdateClient, max: number, cutoff: string): boolean => {
      if (client.group === null) return false;
      if (this.#slots.get(client.group, cutoff, client.machineId)!.n >= max) return false;
      this.#upsert.run(toRow(client));
      return true;
    });
    this.#bind = db.transaction((machineId: string, mac: Mac, at: string): BindResult => {
      const other = db
        .prepare<[string], { mac: string }>('SELECT mac FROM update_machine_ids WHERE machine_id = ?')
        .get(machineId);
      if (other && other.mac !== mac) return { ok: false, boundTo: storedMac(other.mac) };
      db.prepare('DELETE FROM update_clients WHERE mac = ? AND machine_id != ?').run(mac, machineId);
      db.prepare('DELETE FROM update_machine_ids WHERE mac = ?').run(mac);
      db.prepare('INSERT INTO update_machine_ids (machine_id, mac, bound_at) VALUES (?, ?, ?)').run(
        machineId,
        mac,
        at,
      );
      db.prepare('UPDATE update_clients SET mac = ? WHERE machine_id = ?').run(mac, machineId);
      return { ok: true };
    });
  }

  async macFor(machineId: string): Promise<Mac | undefined> {
    const row = this.#db
      .prepare<[string], { mac: string }>('SELECT mac FROM update_machine_ids WHERE machine_id = ?')
      .get(machineId);
    return row && storedMac(row.mac);
  }

  async bind(machineId: string, mac: Mac, at: string): Promise<BindResult> {
    return this.#bind.immediate(machineId, mac, at);
  }

  async get(machineId: string): Promise<UpdateClient | undefined> {
    const row = this.#get.get(machineId);
    return row && toClient(row);
  }

  async forMac(mac: Mac): Promise<UpdateClient | undefined> {
    const row = this.#db
      .prepare<[string], Row>('SELECT * FROM update_clients WHERE mac = ? ORDER BY last_seen DESC LIMIT 1')
      .get(mac);
    return row && toClient(row);
  }

  async list(page?: { offset: number; limit: number }): Promise<UpdateClient[]> {
    const order = 'SELECT * FROM update_clients ORDER BY mac IS NULL, mac, machine_id';
    const rows = page
      ? this.#db.prepare<[number, number], Row>(`${order} LIMIT ? OFFSET ?`).all(page.limit, page.offset)
      : this.#db.prepare<[], Row>(order).all();
    return rows.map(toClient);
  }

  async summary(): Promise<UpdateSummary> {
    const rows = this.#db
      .prepare<[], { version: string; n: number; unknown: number }>(
        'SELECT version, count(*) AS n, sum(mac IS NULL) AS unknown FROM update_clients GROUP BY version',
      )
      .all();
    return {
      total: rows.reduce((a, r) => a + r.n, 0),
      unknown: rows.reduce((a, r) => a + r.unknown, 0),
      versions: rows.map((r) => ({ version: r.version, machines: r.n })),
    };
  }

  async save(client: UpdateClient, maxUnknown: number): Promise<boolean> {
    return this.#save.immediate(client, maxUnknown);
  }

  async takeSlot(client: UpdateClient, max: number, cutoff: string): Promise<boolean> {
    return this.#take.immediate(client, max, cutoff);
  }

  async slotsInUse(group: string, cutoff: string): Promise<number> {
    return this.#slots.get(group, cutoff, '')!.n;
  }

  async targets(board: string, cutoff: string): Promise<string[]> {
    return this.#db
      .prepare<[string, string], { target: string }>(
        'SELECT DISTINCT target FROM update_clients WHERE board = ? AND slot_since >= ? AND target IS NOT NULL',
      )
      .all(board, cutoff)
      .map((r) => r.target);
  }

  async pauses(): Promise<PauseRecord[]> {
    return this.#db
      .prepare<[], { grp: string; at: string; by: string }>('SELECT * FROM update_pauses ORDER BY grp')
      .all()
      .map((r) => ({ group: r.grp, at: r.at, by: r.by }));
  }

  async setPaused(group: string, paused: boolean, at: string, by: string): Promise<void> {
    if (paused)
      this.#db
        .prepare('INSERT INTO update_pauses (grp, at, by) VALUES (?, ?, ?) ON CONFLICT(grp) DO NOTHING')
        .run(group, at, by);
    else this.#db.prepare('DELETE FROM update_pauses WHERE grp = ?').run(group);
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

function toRow(c: UpdateClient): Row {
  return {
    machine_id: c.machineId,
    mac: c.mac,
    grp: c.group,
    track: c.track,
    board: c.board,
    oem: c.oem,
    version: c.version,
    target: c.target,
    state: c.state,
    slot_since: c.slotSince,
    last_check: c.lastCheck,
    last_result: c.lastResult,
    error_code: c.errorCode,
    ip: c.ip,
    first_seen: c.firstSeen,
    last_seen: c.lastSeen,
  };
}

function toClient(r: Row): UpdateClient {
  return {
    machineId: r.machine_id,
    mac: r.mac === null ? null : storedMac(r.mac),
    group: r.grp,
    track: r.track,
    board: r.board,
    oem: r.oem,
    version: r.version,
    target: r.target,
    state: r.state,
    slotSince: r.slot_since,
    lastCheck: r.last_check,
    lastResult: r.last_result,
    errorCode: r.error_code,
    ip: r.ip,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
  };
}
