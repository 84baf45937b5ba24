// A StateStore decorator for the composition root: one log line per recorded event (with
// the MAC and the state after it), then the listeners (metrics, dashboard). Listeners run
// after the write and never fail it: their errors are logged.
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { NewEvent, Recorded, Sighting, StateStore } from './state-store.ts';

export type RecordListener = (recorded: Recorded) => void | Promise<void>;

export function observeStore(store: StateStore, log: Logger, listeners: RecordListener[] = []): StateStore {
  return {
    fleet: store.fleet,
    sessions: store.sessions,
    getMachine: (mac) => store.getMachine(mac),
    listMachines: () => store.listMachines(),
    events: (mac, options) => store.events(mac, options),
    close: () => store.close(),
    async recordEvent(mac: string, event: NewEvent, seen?: Sighting): Promise<Recorded> {
      const recorded = await store.recordEvent(mac, event, seen);
      const { event: e, machine } = recorded;
      log.info(
        { mac, event: e.type, source: e.source, state: machine.state, eventId: e.id, ...summary(e.data) },
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
    },
  };
}

/** Small, useful event data for the log line; installer output stays in the store. */
function summary(data: Recorded['event']['data']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['version', 'bytes', 'durationMs', 'exitCode', 'mode', 'path']) {
    if (data[key] !== undefined) out[key] = data[key];
  }
  return out;
}
