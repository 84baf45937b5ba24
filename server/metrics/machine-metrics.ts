// Metrics derived from machine state: a gauge of machines by state, read from the store on
// each scrape, and the provisioning duration histograms, observed when `installed` and
// `first-boot` are recorded.
import { Gauge } from 'prom-client';
import type { Logger } from '../log.ts';
import { reasonCode } from '../machines/handoff.ts';
import { MACHINE_STATES, type MachineEvent } from '../machines/state.ts';
import type { Recorded, StateStore } from '../store/state-store.ts';
import type { ProvisionedUntil, RailyardMetrics } from './metrics.ts';

/** railyard_machines{state}: every state is present (0 when no machine is in it). */
export function registerMachineGauge(metrics: RailyardMetrics, store: StateStore): void {
  new Gauge({
    name: 'railyard_machines',
    help: 'Known machines by provisioning state',
    labelNames: ['state'],
    registers: [metrics.registry],
    async collect() {
      // One GROUP BY query, not a read of every machine per scrape.
      const counts = await store.fleet.countByState();
      for (const state of MACHINE_STATES) this.set({ state }, counts[state]);
    },
  });
}

/**
 * Seconds from the latest `install-script-served` before `event` to `event`, when `event`
 * ends a provisioning stage; undefined otherwise (or when the script was never served).
 */
export function provisioningDuration(
  events: readonly MachineEvent[],
  event: MachineEvent,
): { until: ProvisionedUntil; seconds: number } | undefined {
  const served = events.filter((e) => e.type === 'install-script-served' && e.at <= event.at).at(-1);
  return sinceServed(served, event);
}

/** `event` (installed, first-boot) measured from the install script it followed. */
function sinceServed(
  served: MachineEvent | undefined,
  event: MachineEvent,
): { until: ProvisionedUntil; seconds: number } | undefined {
  if (event.type !== 'installed' && event.type !== 'first-boot') return undefined;
  if (!served) return undefined;
  const seconds = (Date.parse(event.at) - Date.parse(served.at)) / 1000;
  return seconds >= 0 ? { until: event.type, seconds } : undefined;
}

/** A record listener (store/observed.ts) that observes the provisioning histograms. */
export function observeProvisioning(metrics: RailyardMetrics, store: StateStore, log: Logger) {
  return async ({ event }: Recorded): Promise<void> => {
    if (event.type !== 'installed' && event.type !== 'first-boot') return;
    // one indexed query, not the machine's last 500 events
    const d = sinceServed(await store.latestEvent(event.mac, 'install-script-served', event.at), event);
    if (!d) return;
    metrics.provisioningSeconds.observe({ until: d.until }, d.seconds);
    log.debug({ mac: event.mac, until: d.until, seconds: d.seconds }, 'provisioning duration');
  };
}

/** A record listener that counts hand-offs: railyard_handoffs_total{method, reason}. */
export function observeHandoffs(metrics: RailyardMetrics) {
  return ({ event }: Recorded): void => {
    if (event.type !== 'handoff') return;
    const method = String(event.data['method']);
    const reason = typeof event.data['reason'] === 'string' ? reasonCode(event.data['reason']) : undefined;
    metrics.handoffs.inc({ method, reason: reason ?? 'none' });
  };
}
