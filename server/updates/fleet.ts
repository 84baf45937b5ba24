// Read models of the update service for the API and the dashboard: a page of the clients
// (running version, target, state), the fleet's version histogram, and each group's rollout
// (policy, slots in use, pause switch); plus the pause switch itself (admin). The cost does
// not grow with the fleet beyond the page asked for: the histogram is one GROUP BY.

import { NotFoundError } from '../errors.ts';
import type { Mac } from '../machines/identity.ts';
import type { MachineSet } from '../machines/model.ts';
import type { UpdateClient, UpdateStore, UpdateSummary } from './client.ts';
import { effectivePolicy, type UpdatePolicy } from './policy.ts';
import type { PayloadSource } from './service.ts';
import { compareVersions, parseVersion } from './versions.ts';

export const ALL_GROUPS = '*';

export interface RolloutView extends UpdatePolicy {
  /** The version the policy offers now (undefined: not mirrored). */
  target: string | undefined;
  payload: boolean;
  slotsInUse: number;
  pausedByAdmin: { at: string; by: string } | undefined;
}

/** GET /api/v1/updates pages: `?limit=` (default and maximum, as /api/v1/machines) and `?offset=`. */
export const FLEET_PAGE_MAX = 1000;
/** Update clients the dashboard's fleet page lists (the rest: the API's pages). */
export const DASHBOARD_CLIENTS = 50;

export interface FleetView {
  /** Clients `offset` … `offset + limit - 1` of `total`. */
  clients: UpdateClient[];
  total: number;
  offset: number;
  limit: number;
  unknown: number;
  versions: Array<{ version: string; machines: number }>;
  rollouts: RolloutView[];
  pausedAll: { at: string; by: string } | undefined;
}

export interface FleetDeps {
  updates: UpdateStore;
  machines: () => MachineSet;
  payloads: PayloadSource;
  slotTimeoutMs: number;
  now?: () => Date;
}

export async function fleetView(
  d: FleetDeps,
  page: { offset: number; limit: number } = { offset: 0, limit: FLEET_PAGE_MAX },
): Promise<FleetView> {
  const clients = page.limit > 0 ? await d.updates.list(page) : [];
  const summary = await d.updates.summary();
  const pauses = await d.updates.pauses();
  const cutoff = new Date((d.now ?? (() => new Date()))().getTime() - d.slotTimeoutMs).toISOString();
  const rollouts: RolloutView[] = [];
  for (const policy of policies(d.machines())) {
    const target = await d.payloads.resolveVersion(policy.channel, policy.board, policy.version);
    const pause = pauses.find((p) => p.group === policy.group);
    rollouts.push({
      ...policy,
      target,
      payload: target ? (await d.payloads.offer(policy.board, target)) !== undefined : false,
      slotsInUse: await d.updates.slotsInUse(policy.group, cutoff),
      pausedByAdmin: pause && { at: pause.at, by: pause.by },
    });
  }
  const all = pauses.find((p) => p.group === ALL_GROUPS);
  return {
    clients,
    total: summary.total,
    offset: page.offset,
    limit: page.limit,
    unknown: summary.unknown,
    versions: histogram(summary.versions),
    rollouts,
    pausedAll: all && { at: all.at, by: all.by },
  };
}

/** The dashboard's fleet page: the first DASHBOARD_CLIENTS clients. */
export const dashboardFleet = (d: FleetDeps) => fleetView(d, { offset: 0, limit: DASHBOARD_CLIENTS });
/** Metrics scrapes: the histogram and rollouts, no client rows. */
export const metricsFleet = (d: FleetDeps) => fleetView(d, { offset: 0, limit: 0 });

/** One policy per group whose profile has `updates`. */
export function policies(set: MachineSet): UpdatePolicy[] {
  return set.groups.flatMap((g) => {
    const profile = set.profiles.get(g.profile);
    const p = profile ? effectivePolicy(profile, g) : undefined;
    return p ? [p] : [];
  });
}

function histogram(rows: UpdateSummary['versions']): FleetView['versions'] {
  const counts = new Map<string, number>();
  for (const r of rows)
    counts.set(r.version || 'unknown', (counts.get(r.version || 'unknown') ?? 0) + r.machines);
  return [...counts]
    .sort(([a], [b]) => newestFirst(a, b))
    .map(([version, machines]) => ({ version, machines }));
}

function newestFirst(a: string, b: string): number {
  if (parseVersion(a) && parseVersion(b)) return compareVersions(b, a);
  if (parseVersion(a)) return -1;
  if (parseVersion(b)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The pause switch: `group` is a group id with an update policy, or `*` for every group. */
export async function setPaused(
  d: Pick<FleetDeps, 'updates' | 'machines' | 'now'>,
  group: string,
  paused: boolean,
  by: string,
): Promise<void> {
  if (group !== ALL_GROUPS && !policies(d.machines()).some((p) => p.group === group))
    throw new NotFoundError(`no group ${JSON.stringify(group)} with an update policy`);
  await d.updates.setPaused(group, paused, (d.now ?? (() => new Date()))().toISOString(), by);
}

/** A machine's update record (the API's /api/v1/machines/<mac>/update). */
export async function machineUpdate(updates: UpdateStore, mac: Mac): Promise<UpdateClient> {
  const client = await updates.forMac(mac);
  if (!client) throw new NotFoundError(`machine ${mac} has not asked railyard for updates`);
  return client;
}
