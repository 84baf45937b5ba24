// The dashboard service: view models for /ui pages and the one write it offers
// (reprovision). Routes stay thin adapters over this.

import { requestReprovision } from '../store/queries.ts';
import type { StateStore } from '../store/state-store.ts';
import { type BootPreview, buildDetail, type DetailModel } from './detail.ts';
import type { MirrorOverview } from './mirror.ts';
import { mirrorModel } from './mirror-model.ts';
import { buildOverview, type OverviewModel } from './overview.ts';
import type { ImageProgress } from './progress.ts';

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
}

const CACHED_PAGES = 64;

export class Dashboard {
  readonly #deps: DashboardDeps;
  readonly #pages = new Map<number, { until: number; model: Promise<OverviewModel> }>();
  #queue: Promise<unknown> = Promise.resolve();
  #nextBuildAt = 0;

  constructor(deps: DashboardDeps) {
    this.#deps = deps;
  }

  /** The fleet page: summary, installs in progress, page `page` of the machine table. */
  overview(page = 1): Promise<OverviewModel> {
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

  #paced(page: number): Promise<OverviewModel> {
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

  async #build(page: number): Promise<OverviewModel> {
    const now = this.#now();
    const mirror = mirrorModel(await this.#deps.mirror.list(), this.#deps.staleAfterMs, now);
    return buildOverview({
      store: this.#deps.store,
      progress: this.#deps.progress,
      mirror,
      window: this.#deps.window ?? 50,
      now,
      page,
    });
  }

  machine(mac: string): Promise<DetailModel> {
    return buildDetail(this.#deps.store, this.#deps.boot, mac, this.#now());
  }

  /** The next PXE boot of `mac` installs again (recorded with source `admin`). */
  async reprovision(mac: string): Promise<string> {
    return (await requestReprovision(this.#deps.store, mac)).machine.state;
  }

  #now(): number {
    return (this.#deps.now ?? Date.now)();
  }
}
