// A StateStore decorator for the composition root: one log line per recorded event (with
// the MAC, the state after it and its attempt), then the listeners (metrics, dashboard).
// Listeners run after the write and never fail it: their errors are logged.
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Recorded, StateStore } from './state-store.ts';

export type RecordListener = (recorded: Recorded) => void | Promise<void>;

export function observeStore(store: StateStore, log: Logger, listeners: RecordListener[] = []): StateStore {
  const observed = async <R extends Recorded>(write: Promise<R>): Promise<R> => {
    const recorded = await write;
    const { event: e, machine, attempt } = recorded;
    const mac = machine.mac;
    log.info(
      {
        mac,
        event: e.type,
        source: e.source,
        state: machine.state,
        eventId: e.id,
        ...(attempt ? { attempt: attempt.id, attemptState: attempt.state } : {}),
        ...summary(e.data),
      },
      `machine ${mac}: ${e.type} → ${machine.state}`,
    );
    for (const listener of listeners) {
      try {
        await listener(recorded);
      } catch (err) {
        log.warn({ mac, event: e.type, err: errorMessage(err) }, 'event listener failed');
      }
    }
    return recorded;
  };
  return {
    fleet: store.fleet,
    sessions: store.sessions,
    pool: store.pool,
    getMachine: (mac) => store.getMachine(mac),
    listMachines: () => store.listMachines(),
    events: (mac, options) => store.events(mac, options),
    getAttempt: (id) => store.getAttempt(id),
    openAttemptOf: (mac) => store.openAttemptOf(mac),
    attempts: (mac, options) => store.attempts(mac, options),
    openAttempts: () => store.openAttempts(),
    latestEvent: (mac, type, at) => store.latestEvent(mac, type, at),
    installingVersions: (channel, board) => store.installingVersions(channel, board),
    close: () => store.close(),
    recordEvent: (mac, event, seen, step) => observed(store.recordEvent(mac, event, seen, step)),
    openAttempt: async (mac, attempt, event, seen) => {
      const opened = await observed(store.openAttempt(mac, attempt, event, seen));
      if (opened.superseded)
        log.info(
          { mac, attempt: opened.superseded.id, by: opened.attempt.id },
          `machine ${mac}: attempt superseded`,
        );
      return opened;
    },
    recordReport: (id, event, step) => observed(store.recordReport(id, event, step)),
  };
}

/** Small, useful event data for the log line; installer output stays in the store. */
function summary(data: Recorded['event']['data']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['version', 'bytes', 'durationMs', 'exitCode', 'mode', 'path', 'method']) {
    if (data[key] !== undefined) out[key] = data[key];
  }
  return out;
}
