// Read models and admin actions over a StateStore, shared by the HTTP API and the CLI.
import { NotFoundError } from '../errors.ts';
import { canonicalMac } from '../machines/identity.ts';
import type { Machine } from '../machines/state.ts';
import { type PhaseSpan, timeline } from '../machines/timeline.ts';
import type { Recorded, StateStore, StoredEvent } from './state-store.ts';

export interface MachineDetail {
  machine: Machine;
  timeline: PhaseSpan[];
  events: StoredEvent[];
}

/** GET /api/v1/machines/<mac>: state, facts, profile, timeline with phase durations, recent events. */
export async function machineDetail(
  store: StateStore,
  rawMac: string,
  eventLimit = 200,
): Promise<MachineDetail> {
  const mac = canonicalMac(rawMac);
  const machine = await store.getMachine(mac);
  if (!machine) throw new NotFoundError(`no machine ${mac} (never seen)`);
  const events = await store.events(mac, { limit: eventLimit });
  return { machine, timeline: timeline(events), events };
}

/** POST /api/v1/machines/<mac>/reprovision (admin): the next PXE boot installs again. */
export async function requestReprovision(
  store: StateStore,
  rawMac: string,
  source: 'admin' = 'admin',
): Promise<Recorded> {
  const mac = canonicalMac(rawMac);
  if (!(await store.getMachine(mac))) throw new NotFoundError(`no machine ${mac} (never seen)`);
  return store.recordEvent(mac, { type: 'reprovision-requested', source });
}

/**
 * Versions machines are installing right now (state `installing`, from the release their
 * install script named), per channel/board: mirror retention must keep them.
 */
export function versionsInstalling(store: StateStore): (channel: string, board: string) => Promise<string[]> {
  return async (channel, board) => {
    const versions = new Set<string>();
    for (const m of await store.listMachines()) {
      if (m.state !== 'installing') continue;
      const served = (await store.events(m.mac, { limit: 50 })).findLast(
        (e) => e.type === 'install-script-served',
      );
      const d = served?.data;
      if (d && d['channel'] === channel && d['board'] === board && typeof d['version'] === 'string')
        versions.add(d['version']);
    }
    return [...versions];
  };
}
