// Update service metrics (docs/updates.md): checks by result, noupdate reasons, client
// events, completions, failures, refused Omaha requests; and at scrape time the fleet's
// running versions and the rollout slots in use per group. Labels are bounded sets
// (results, reasons, event kinds, versions and groups that exist).
import { Counter, Gauge } from 'prom-client';
import type { FleetView } from '../updates/fleet.ts';
import type { NoUpdateReason } from '../updates/policy.ts';
import type { UpdateObserver } from '../updates/service.ts';
import type { RailyardMetrics } from './metrics.ts';

export interface UpdateMetrics extends UpdateObserver {
  rejected(): void;
}

export function registerUpdateMetrics(
  metrics: RailyardMetrics,
  fleet: () => Promise<FleetView>,
): UpdateMetrics {
  const registers = [metrics.registry];
  const checks = new Counter({
    name: 'railyard_update_checks_total',
    help: 'Omaha update checks answered, by result (offer or noupdate)',
    labelNames: ['result'],
    registers,
  });
  const noupdate = new Counter({
    name: 'railyard_update_noupdate_total',
    help: 'Update checks answered noupdate, by reason',
    labelNames: ['reason'],
    registers,
  });
  const events = new Counter({
    name: 'railyard_update_events_total',
    help: 'Omaha events from update clients, by kind',
    labelNames: ['kind'],
    registers,
  });
  const completions = new Counter({
    name: 'railyard_update_completions_total',
    help: 'Machines that rebooted into the version they were offered',
    registers,
  });
  const failures = new Counter({
    name: 'railyard_update_failures_total',
    help: 'Update attempts clients reported as failed',
    registers,
  });
  const rejected = new Counter({
    name: 'railyard_omaha_rejected_total',
    help: 'Omaha requests refused with 400 (bad XML, too large, wrong protocol or content type)',
    registers,
  });
  registerFleetGauges(registers, fleet);
  return {
    checked(result: 'offer' | NoUpdateReason) {
      checks.inc({ result: result === 'offer' ? 'offer' : 'noupdate' });
      if (result !== 'offer') noupdate.inc({ reason: result });
    },
    event(kind) {
      events.inc({ kind });
      if (kind === 'complete') completions.inc();
      if (kind === 'failed') failures.inc();
    },
    rejected: () => rejected.inc(),
  };
}

function registerFleetGauges(
  registers: RailyardMetrics['registry'][],
  fleet: () => Promise<FleetView>,
): void {
  let pending: Promise<FleetView> | undefined;
  // One fleet read per scrape, shared by both gauges.
  const read = () => {
    pending ??= fleet().finally(() => setTimeout(() => (pending = undefined), 0));
    return pending;
  };
  new Gauge({
    name: 'railyard_update_machines',
    help: 'Update clients by the version they run',
    labelNames: ['version'],
    registers,
    async collect() {
      this.reset();
      for (const v of (await read()).versions) this.set({ version: v.version }, v.machines);
    },
  });
  new Gauge({
    name: 'railyard_update_slots_in_use',
    help: 'Rollout slots held per group (offer until completion, error or slot timeout)',
    labelNames: ['group'],
    registers,
    async collect() {
      this.reset();
      for (const r of (await read()).rollouts) this.set({ group: r.group }, r.slotsInUse);
    },
  });
}
