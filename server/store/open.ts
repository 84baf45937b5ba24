// Choose the state store backend from config (`state.driver`); main.ts calls this once.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import { openSqliteStore } from './sqlite.ts';
import { DEFAULT_LIMITS, type StateStore, type StoreLimits } from './state-store.ts';

export function openStateStore(
  state: Pick<Config['state'], 'driver' | 'path'> & Partial<StoreLimits>,
): StateStore {
  switch (state.driver) {
    case 'sqlite':
      try {
        mkdirSync(dirname(state.path), { recursive: true, mode: 0o700 });
      } catch (err) {
        throw new ConfigError(`${state.path}: cannot create its directory: ${errorMessage(err)}`, {
          file: state.path,
          key: 'state.path',
        });
      }
      return openSqliteStore(state.path, undefined, {
        eventsPerMachine: state.eventsPerMachine ?? DEFAULT_LIMITS.eventsPerMachine,
        attemptsPerMachine: state.attemptsPerMachine ?? DEFAULT_LIMITS.attemptsPerMachine,
      });
  }
}
