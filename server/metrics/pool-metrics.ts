// Warm-pool metrics (docs/pool.md): railyard_pool_machines{state, version}, read from the
// store on each scrape, and railyard_pool_claim_to_first_boot_seconds, observed when a
// claimed machine reports its first boot.
import { Gauge, Histogram } from 'prom-client';
import type { PoolMember } from '../store/pool-store.ts';
import type { RailyardMetrics } from './metrics.ts';

export interface PoolCount {
  state: PoolMember['state'];
  version: string;
  count: number;
}

/** Registers both; returns the histogram's observer (seconds from claim to first boot). */
export function registerPoolMetrics(
  metrics: RailyardMetrics,
  counts: () => Promise<PoolCount[]>,
): (seconds: number) => void {
  const registers = [metrics.registry];
  new Gauge({
    name: 'railyard_pool_machines',
    help: 'Warm-pool machines by pool state and the release on their disk (version "none" before it is written)',
    labelNames: ['state', 'version'],
    registers,
    async collect() {
      this.reset();
      for (const c of await counts()) this.set({ state: c.state, version: c.version }, c.count);
    },
  });
  const histogram = new Histogram({
    name: 'railyard_pool_claim_to_first_boot_seconds',
    help: 'Time from a pool claim until the claimed machine reported its first boot',
    buckets: [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600],
    registers,
  });
  return (seconds) => histogram.observe(seconds);
}
