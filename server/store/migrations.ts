// Versioned schema migrations, tracked in SQLite's `PRAGMA user_version`. Append only:
// never edit a released migration, add the next one. A database written by a newer
// railyard (user_version > the migrations known here) refuses to open.
import type Database from 'better-sqlite3';
import { ConfigError } from '../errors.ts';

export const MIGRATIONS: readonly string[] = [
  // 1: machines and their append-only event log.
  `CREATE TABLE machines (
     mac TEXT PRIMARY KEY,
     state TEXT NOT NULL,
     failures INTEGER NOT NULL DEFAULT 0,
     failure_reason TEXT,
     facts TEXT NOT NULL DEFAULT '{}',
     profile TEXT,
     grp TEXT,
     first_seen TEXT NOT NULL,
     last_seen TEXT NOT NULL
   ) STRICT;
   CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     mac TEXT NOT NULL REFERENCES machines(mac),
     type TEXT NOT NULL,
     source TEXT NOT NULL,
     at TEXT NOT NULL,
     data TEXT NOT NULL DEFAULT '{}',
     state TEXT NOT NULL
   ) STRICT;
   CREATE INDEX events_by_mac ON events(mac, id);`,
  // 2: install attempts (at most one open per machine), events attributed to them, and a
  // per-machine event count for retention.
  `CREATE TABLE attempts (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     mac TEXT NOT NULL REFERENCES machines(mac),
     state TEXT NOT NULL,
     grp TEXT NOT NULL,
     profile TEXT NOT NULL,
     profile_revision TEXT NOT NULL,
     group_revision TEXT NOT NULL,
     channel TEXT NOT NULL,
     board TEXT NOT NULL,
     version TEXT NOT NULL,
     install_disk TEXT NOT NULL,
     phone_home INTEGER NOT NULL,
     facts TEXT NOT NULL,
     client_ip TEXT,
     opened_at TEXT NOT NULL,
     closed_at TEXT,
     nonce TEXT NOT NULL,
     install_token_hash TEXT NOT NULL,
     first_boot_token_hash TEXT NOT NULL
   ) STRICT;
   CREATE UNIQUE INDEX attempts_open_per_machine ON attempts(mac) WHERE closed_at IS NULL;
   CREATE INDEX attempts_by_mac ON attempts(mac, id);
   ALTER TABLE events ADD COLUMN attempt_id INTEGER;
   ALTER TABLE machines ADD COLUMN event_count INTEGER NOT NULL DEFAULT 0;
   UPDATE machines SET event_count = (SELECT count(*) FROM events e WHERE e.mac = machines.mac);`,
  // 3: dashboard sign-in sessions (store/sessions.ts); indexes for the dashboard's
  // per-page queries (store/sqlite-fleet.ts): machines per state, the events of an attempt,
  // the latest attempts that ended provisioned.
  `CREATE TABLE sessions (
     id TEXT PRIMARY KEY,
     binding TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX sessions_by_expiry ON sessions(expires_at);
   CREATE INDEX machines_by_state ON machines(state, mac);
   CREATE INDEX events_by_attempt ON events(attempt_id, id);
   CREATE INDEX attempts_provisioned ON attempts(closed_at, id) WHERE state = 'provisioned';`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Bring `db` to SCHEMA_VERSION, one transaction per migration. */
export function migrate(db: Database.Database, file: string): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new ConfigError(
      `${file}: state database schema version ${current} is newer than this railyard supports (${SCHEMA_VERSION}); ` +
        'run a newer railyard or restore a backup',
      { file },
    );
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return current;
}
