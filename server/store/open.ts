// Choose the state store backend from config (`state.driver`); main.ts calls this once.
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, errorMessage } from '../errors.ts';
import { openSqliteStore } from './sqlite.ts';
import { DEFAULT_LIMITS, type StateStore, type StoreLimits } from './state-store.ts';

/** The store's options (main.ts and the CLI pass config.state). */
export interface StateOptions extends Partial<StoreLimits> {
  driver: 'sqlite' | 'postgres';
  /** driver sqlite: the database file. */
  path: string;
  /** driver postgres: postgres://… (its password is never logged). */
  url?: string | undefined;
  /** driver postgres: connections per instance. */
  poolSize?: number | undefined;
}

export async function openStateStore(state: StateOptions): Promise<StateStore> {
  const limits = {
    eventsPerMachine: state.eventsPerMachine ?? DEFAULT_LIMITS.eventsPerMachine,
    attemptsPerMachine: state.attemptsPerMachine ?? DEFAULT_LIMITS.attemptsPerMachine,
  };
  switch (state.driver) {
    case 'postgres':
      if (!state.url)
        throw new ConfigError('state.url: state.driver is postgres but no URL is set', { key: 'state.url' });
      {
        // pg (and its driver modules) only when PostgreSQL is configured: SQLite never loads it.
        const { openPgStore } = await import('./pg.ts');
        return openPgStore({ url: state.url, poolSize: state.poolSize ?? 10, limits });
      }
    case 'sqlite':
      try {
        mkdirSync(dirname(state.path), { recursive: true, mode: 0o700 });
      } catch (err) {
        throw new ConfigError(`${state.path}: cannot create its directory: ${errorMessage(err)}`, {
          file: state.path,
          key: 'state.path',
        });
      }
      ownerOnly(state.path);
      return openSqliteStore(state.path, undefined, limits);
  }
}

/**
 * state.db holds facts, installer output and sessions: owner-only (0600). SQLite creates
 * its -wal and -shm files with the database file's mode, so creating the file 0600 first
 * covers them; files left looser by an older railyard are tightened. The update store's
 * connection to the same file (updates/sqlite-store.ts) calls this too.
 */
export function ownerOnly(file: string): void {
  if (file === ':memory:') return;
  try {
    closeSync(openSync(file, 'a', 0o600));
  } catch {
    return; // openSqliteStore reports why it cannot open the file
  }
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      chmodSync(f, 0o600);
    } catch {
      // not there (no WAL yet), or not ours: SQLite will say if it matters
    }
  }
}
