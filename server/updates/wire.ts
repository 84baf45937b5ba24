// The update service's part of the composition root (main.ts calls this): its store in the
// state database, the first-boot listener that binds machine-ids, the Omaha endpoint and
// API, metrics, and what mirror retention must keep (versions machines are updating to).

import type { Logger } from '../log.ts';
import type { Mac } from '../machines/identity.ts';
import type { MachineSet } from '../machines/model.ts';
import type { RailyardMetrics } from '../metrics/metrics.ts';
import { registerUpdateMetrics } from '../metrics/update-metrics.ts';
import type { VersionsInUse } from '../mirror/retention.ts';
import { UPDATE_DIR } from '../mirror/update-payloads.ts';
import type { RecordListener } from '../store/observed.ts';
import type { StateOptions } from '../store/open.ts';
import type { StateStore } from '../store/state-store.ts';
import { bindMachineIds } from './bind.ts';
import type { UpdateClient, UpdateStore } from './client.ts';
import { dashboardFleet, type FleetDeps, type FleetView, metricsFleet } from './fleet.ts';
import { openUpdateStore } from './open.ts';
import { mirrorDirOf, mirrorPayloads } from './payload-source.ts';
import { UpdateService } from './service.ts';

export interface UpdatesWiring {
  store: UpdateStore;
  onRecorded: RecordListener;
  keepInUse(other: VersionsInUse): VersionsInUse;
  service(
    machines: () => MachineSet,
    machineStore: StateStore,
  ): {
    service: UpdateService;
    fleet: FleetDeps;
    dashboard: { fleet(): Promise<FleetView>; forMac(mac: Mac): Promise<UpdateClient | undefined> };
    http: {
      service: UpdateService;
      api: FleetDeps;
      onRejected: () => void;
    };
  };
}

/** What the update service needs of the configuration (main.ts passes its Config). */
export interface UpdatesOptions {
  state: Pick<StateOptions, 'driver' | 'path' | 'url'>;
  dataDir: string;
  publicUrl: string;
  updates: { slotTimeout: number; maxUnknown: number };
}

export async function wireUpdates(
  config: UpdatesOptions,
  metrics: RailyardMetrics,
  log: Logger,
): Promise<UpdatesWiring> {
  const store = await openUpdateStore(config.state);
  const payloads = mirrorPayloads(mirrorDirOf(config.dataDir));
  const slotTimeoutMs = config.updates.slotTimeout;
  return {
    store,
    onRecorded: bindMachineIds(store, log),
    keepInUse: (other) => keepUpdateTargets(store, slotTimeoutMs, other),
    service(machines, machineStore) {
      const fleet: FleetDeps = { updates: store, machines, payloads, slotTimeoutMs };
      const observer = registerUpdateMetrics(metrics, () => metricsFleet(fleet));
      const service = new UpdateService({
        machines,
        store: machineStore,
        updates: store,
        payloads,
        publicUrl: config.publicUrl,
        slotTimeoutMs,
        maxUnknown: config.updates.maxUnknown,
        log,
        observer,
      });
      return {
        service,
        fleet,
        dashboard: {
          fleet: () => dashboardFleet(fleet),
          forMac: (mac) => store.forMac(mac),
        },
        http: { service, api: fleet, onRejected: observer.rejected },
      };
    },
  };
}

/** Mirror retention's in-use versions, plus (for `update/<board>`) the versions machines hold a rollout slot for. */
export function keepUpdateTargets(
  store: UpdateStore,
  slotTimeoutMs: number,
  other: VersionsInUse,
): VersionsInUse {
  return async (channel, board) =>
    channel === UPDATE_DIR
      ? store.targets(board, new Date(Date.now() - slotTimeoutMs).toISOString())
      : other(channel, board);
}
