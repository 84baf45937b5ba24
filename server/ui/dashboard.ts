// The dashboard service: view models for /ui pages and the one write it offers
// (reprovision). Routes stay thin adapters over this.

import { requestReprovision } from '../store/queries.ts';
import type { StateStore } from '../store/state-store.ts';
import type { UpdateClient } from '../updates/client.ts';
import type { FleetView } from '../updates/fleet.ts';
import { type BootPreview, buildDetail, type DetailModel } from './detail.ts';
import type { MirrorOverview } from './mirror.ts';
import { mirrorModel } from './mirror-model.ts';
import { buildOverview, type OverviewModel } from './overview.ts';
import type { ImageProgress } from './progress.ts';
import { type ClientRow, clientRow, type UpdatesModel, updatesModel } from './updates.ts';

export interface DashboardDeps {
  store: StateStore;
  boot: BootPreview;
  mirror: MirrorOverview;
  progress: ImageProgress;
  /** mirror.staleAfter (ms): older successful refreshes get a warning. */
  staleAfterMs: number;
  /** Installs the median/p90 time-to-provisioned cover (default 50). */
  window?: number;
  now?: () => number;
  /** The update service's read models (docs/updates.md); no section without them. */
  updates?: { fleet(): Promise<FleetView>; forMac(mac: string): Promise<UpdateClient | undefined> };
}

export class Dashboard {
  readonly #deps: DashboardDeps;

  constructor(deps: DashboardDeps) {
    this.#deps = deps;
  }

  async overview(): Promise<OverviewModel & { updates: UpdatesModel | undefined }> {
    const now = this.#now();
    const mirror = mirrorModel(await this.#deps.mirror.list(), this.#deps.staleAfterMs, now);
    const overview = await buildOverview({
      store: this.#deps.store,
      progress: this.#deps.progress,
      mirror,
      window: this.#deps.window ?? 50,
      now,
    });
    const fleet = await this.#deps.updates?.fleet();
    return { ...overview, updates: fleet && updatesModel(fleet, now) };
  }

  async machine(mac: string): Promise<DetailModel & { update: ClientRow | undefined }> {
    const detail = await buildDetail(this.#deps.store, this.#deps.boot, mac, this.#now());
    const client = await this.#deps.updates?.forMac(detail.mac);
    return { ...detail, update: client && clientRow(client, this.#now()) };
  }

  /** The next PXE boot of `mac` installs again (recorded with source `admin`). */
  async reprovision(mac: string): Promise<string> {
    return (await requestReprovision(this.#deps.store, mac)).machine.state;
  }

  #now(): number {
    return (this.#deps.now ?? Date.now)();
  }
}
