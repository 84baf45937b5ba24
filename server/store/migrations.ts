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
  // 2: dashboard sign-in sessions (store/sessions.ts); indexes for the dashboard's
  // per-page queries (store/sqlite-fleet.ts).
  `CREATE TABLE sessions (
     id TEXT PRIMARY KEY,
     binding TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX sessions_by_expiry ON sessions(expires_at);
   CREATE INDEX events_by_type ON events(type, mac, id);
   CREATE INDEX machines_by_state ON machines(state, mac);`,
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
