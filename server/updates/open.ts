// The update store for the configured state backend: SQLite's tables in state.db (a second
// connection), or PostgreSQL's in the shared database (pg-store.ts) when several instances
// must agree on rollout slots.
import type { StateOptions } from '../store/open.ts';
import type { UpdateStore } from './client.ts';
import { openSqliteUpdateStore } from './sqlite-store.ts';

export async function openUpdateStore(
  state: Pick<StateOptions, 'driver' | 'path' | 'url'>,
): Promise<UpdateStore> {
  if (state.driver === 'postgres' && state.url) {
    // pg only when PostgreSQL is configured (the SQLite default never loads it).
    const { openPgUpdateStore } = await import('./pg-store.ts');
    return openPgUpdateStore({ url: state.url });
  }
  return openSqliteUpdateStore(state.path);
}
