// State store fakes for tests of other modules (routes, /ipxe, CLI): `memoryStore()` keeps
// everything in maps (same semantics as SQLite: memory.ts); `brokenStore()` fails every
// call, so a storage failure can be shown to be handled (never a 404, never a 500 to iPXE).
import { StorageError } from '../errors.ts';
import type { StateStore } from './state-store.ts';

export { memoryStore } from './memory.ts';

export function brokenStore(message = 'state store is broken (test fake)'): StateStore {
  const fail = async (): Promise<never> => {
    throw new StorageError(message);
  };
  return {
    fleet: {
      countByState: fail,
      machinePage: fail,
      attemptEvents: fail,
      openAttemptsOf: fail,
      provisionedInstalls: fail,
    },
    sessions: { create: fail, get: fail, delete: fail, prune: fail },
    pool: {
      enter: fail,
      pooled: fail,
      get: fail,
      list: fail,
      claim: fail,
      polled: fail,
      delivered: fail,
      release: fail,
      vanish: fail,
      startRefresh: fail,
      firstBoot: fail,
    },
    getMachine: fail,
    listMachines: fail,
    recordEvent: fail,
    openAttempt: fail,
    recordReport: fail,
    getAttempt: fail,
    openAttemptOf: fail,
    attempts: fail,
    openAttempts: fail,
    latestEvent: fail,
    installingVersions: fail,
    events: fail,
    close: async () => {},
  };
}
