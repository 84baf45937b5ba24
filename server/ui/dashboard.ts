// The dashboard service: view models for /ui pages and the one write it offers
// (reprovision). Routes stay thin adapters over this.

import type { Mac } from '../machines/identity.ts';
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
  /**
   * How long a fleet page is reused (ms, default 1000): any number of polling browsers
   * cost one build per page per period, so polling cannot crowd out /ipxe.
   */
  cacheMs?: number;
  /**
   * Largest share of the event loop fleet-page builds may take (default 0.25): builds run
   * one at a time, and after a build that took d ms the next waits d × (1/share − 1) ms.
   * Pollers asking for many different pages wait; /ipxe does not. 1 turns pacing off.
   */
  busyShare?: number;
  /** The update service's read models (docs/updates.md); no section without them. */
  updates?: { fleet(): Promise<FleetView>; forMac(mac: Mac): Promise<UpdateClient | undefined> };
}

/** The fleet page's model: the overview, and the update section when the update service is wired. */
export type FleetPage = OverviewModel & { updates: UpdatesModel | undefined };

const CACHED_PAGES = 64;

export class Dashboard {
  readonly #deps: DashboardDeps;
  readonly #pages = new Map<number, { until: number; model: Promise<FleetPage> }>();
  #queue: Promise<unknown> = Promise.resolve();
  #nextBuildAt = 0;

  constructor(deps: DashboardDeps) {
    this.#deps = deps;
  }

  /** The fleet page: summary, installs in progress, page `page` of the machine table. */
  overview(page = 1): Promise<FleetPage> {
    const key = Math.max(1, Math.floor(page) || 1);
    const t = performance.now();
    const hit = this.#pages.get(key);
    if (hit && hit.until > t) return hit.model;
    const model = this.#paced(key);
    this.#pages.delete(key);
    this.#pages.set(key, { until: t + (this.#deps.cacheMs ?? 1000), model });
    if (this.#pages.size > CACHED_PAGES) this.#pages.delete(this.#pages.keys().next().value as number);
    model.catch(() => this.#pages.delete(key));
    return model;
  }

  #paced(page: number): Promise<FleetPage> {
    const run = this.#queue.then(async () => {
      const wait = this.#nextBuildAt - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const started = performance.now();
      try {
        return await this.#build(page);
      } finally {
        const share = this.#deps.busyShare ?? 0.25;
        const took = performance.now() - started;
        this.#nextBuildAt = performance.now() + took * (1 / share - 1);
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #build(page: number): Promise<FleetPage> {
    const now = this.#now();
    const mirror = mirrorModel(await this.#deps.mirror.list(), this.#deps.staleAfterMs, now);
    const overview = await buildOverview({
      store: this.#deps.store,
      progress: this.#deps.progress,
      mirror,
      window: this.#deps.window ?? 50,
      now,
      page,
    });
    const fleet = await this.#deps.updates?.fleet();
    return { ...overview, updates: fleet && updatesModel(fleet, now) };
  }

  /** Another instance changed the fleet: the next poll builds afresh. */
  invalidate(): void {
    this.#pages.clear();
  }

  async machine(mac: Mac): Promise<DetailModel & { update: ClientRow | undefined }> {
    const detail = await buildDetail(this.#deps.store, this.#deps.boot, mac, this.#now());
    const client = await this.#deps.updates?.forMac(detail.mac);
    return { ...detail, update: client && clientRow(client, this.#now()) };
  }

  /** The next PXE boot of `mac` installs again (recorded with source `admin`). */
  async reprovision(mac: Mac): Promise<string> {
    return (await requestReprovision(this.#deps.store, mac)).machine.state;
  }

  #now(): number {
    return (this.#deps.now ?? Date.now)();
  }
}
