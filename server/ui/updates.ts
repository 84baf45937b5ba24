// The dashboard's update section: each group's rollout (what it offers, slots in use, the
// pause switch), the fleet's version histogram, and the first update clients (a bounded
// list, as the fleet page is) with their running version, target and update state; plus one
// machine's update record for its page.
import type { UpdateClient } from '../updates/client.ts';
import type { FleetView, RolloutView } from '../updates/fleet.ts';
import { formatAgo, formatTime } from './format.ts';

export interface UpdatesModel {
  rollouts: Array<{
    group: string;
    profile: string;
    track: string;
    offers: string;
    slots: string;
    window: string;
    paused: string;
    action: 'pause' | 'resume';
  }>;
  noRollouts: boolean;
  versions: Array<{ version: string; machines: number; percent: number }>;
  clients: ClientRow[];
  /** Set when the page lists only the first `shown` of `total` clients. */
  more: { shown: number; total: number } | undefined;
  noClients: boolean;
  unknown: number;
  pausedAll: string;
  allAction: 'pause' | 'resume';
}

export interface ClientRow {
  name: string;
  href: string;
  machineId: string;
  known: boolean;
  running: string;
  target: string;
  state: string;
  lastCheck: string;
  lastCheckAgo: string;
  lastResult: string;
  ip: string;
}

export function updatesModel(fleet: FleetView, now: number): UpdatesModel {
  const total = fleet.total;
  const shown = fleet.clients.length;
  return {
    rollouts: fleet.rollouts.map(rolloutRow),
    noRollouts: fleet.rollouts.length === 0,
    versions: fleet.versions.map((v) => ({
      ...v,
      percent: total ? Math.round((v.machines / total) * 100) : 0,
    })),
    clients: fleet.clients.map((c) => clientRow(c, now)),
    more: shown < total ? { shown, total } : undefined,
    noClients: total === 0,
    unknown: fleet.unknown,
    pausedAll: fleet.pausedAll
      ? `all updates paused by ${fleet.pausedAll.by} at ${formatTime(fleet.pausedAll.at)}`
      : '',
    allAction: fleet.pausedAll ? 'resume' : 'pause',
  };
}

function rolloutRow(r: RolloutView): UpdatesModel['rollouts'][number] {
  const target = r.target ? `${r.target}${r.payload ? '' : ' (no payload mirrored)'}` : 'not mirrored';
  const paused = r.pausedByAdmin
    ? `paused by ${r.pausedByAdmin.by} at ${formatTime(r.pausedByAdmin.at)}`
    : r.paused
      ? 'paused in the files'
      : '';
  const w = r.window;
  return {
    group: r.group,
    profile: r.profile,
    track: `${r.channel}/${r.board}`,
    offers: `${target} (${r.version})`,
    slots: `${r.slotsInUse} / ${r.maxConcurrent}`,
    window: w ? `${w.start}–${w.end} ${w.timezone}${w.days ? ` ${w.days.join(',')}` : ''}` : 'any time',
    paused: r.server === 'railyard' ? paused : `server: ${r.server}`,
    action: r.pausedByAdmin ? 'resume' : 'pause',
  };
}

export function clientRow(c: UpdateClient, now: number): ClientRow {
  return {
    name: c.mac ?? `unknown ${c.machineId.slice(0, 12)}…`,
    href: c.mac ? `/ui/machines/${c.mac}` : '',
    machineId: c.machineId,
    known: c.mac !== null,
    running: c.version || 'unknown',
    target: c.target ?? '',
    state: c.state,
    lastCheck: c.lastCheck ? formatTime(c.lastCheck) : 'never',
    lastCheckAgo: c.lastCheck ? formatAgo(c.lastCheck, now) : '',
    lastResult: c.lastResult ?? '',
    ip: c.ip,
  };
}
