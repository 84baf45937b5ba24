// The dashboard's main view model: fleet summary, installs in progress, one row per
// machine with its timeline bar, and the mirror. Built from the store on each request.
import { type Handoff, latestHandoff } from '../machines/handoff.ts';
import { MACHINE_STATES, type Machine } from '../machines/state.ts';
import { type PhaseSpan, timeline } from '../machines/timeline.ts';
import type { StateStore } from '../store/state-store.ts';
import { formatAgo, formatBytes, formatDuration, formatTime } from './format.ts';
import type { MirrorModel } from './mirror-model.ts';
import type { ImageProgress, ImageTransfer } from './progress.ts';
import { latest, percentile, timeToProvisioned } from './stats.ts';
import { type TimelineBar, timelineBar } from './timeline-bar.ts';

export interface MachineRow {
  mac: string;
  href: string;
  hostname: string;
  profile: string;
  state: string;
  lastSeen: string;
  lastSeenAgo: string;
  bar: TimelineBar;
  /** The latest install's hand-off (kexec / reboot, with the reason), when reported. */
  handoff: { method: string; reason: string } | undefined;
}

export interface InProgressRow {
  mac: string;
  href: string;
  hostname: string;
  phase: string;
  image:
    | { sent: string; total: string; percent: number; value: number; max: number; done: boolean }
    | undefined;
}

export interface OverviewModel {
  generatedAt: string;
  machines: MachineRow[];
  noMachines: boolean;
  counts: Array<{ state: string; count: number }>;
  total: number;
  provisioned: { installs: number; median: string; p90: string; window: number };
  inProgress: InProgressRow[];
  noneInProgress: boolean;
  mirror: MirrorModel;
}

export interface OverviewInputs {
  store: StateStore;
  progress: ImageProgress;
  mirror: MirrorModel;
  /** How many of the latest finished installs the median and p90 cover. */
  window: number;
  now: number;
}

export async function buildOverview(inputs: OverviewInputs): Promise<OverviewModel> {
  const { store, now } = inputs;
  const machines = await store.listMachines();
  const histories = await Promise.all(machines.map((m) => store.events(m.mac, { limit: 200 })));
  const spans = histories.map((events) => timeline(events));
  const rows = machines.map((m, i) => machineRow(m, spans[i] ?? [], now, latestHandoff(histories[i] ?? [])));
  const finished = spans.flatMap((s) => timeToProvisioned(s) ?? []);
  const recent = latest(finished, inputs.window).map((f) => f.seconds);
  const inProgress = machines.flatMap((m, i) =>
    m.state === 'installing' ? [inProgressRow(m, spans[i] ?? [], inputs.progress.forMachine(m.mac))] : [],
  );
  return {
    generatedAt: formatTime(new Date(now).toISOString()),
    machines: rows,
    noMachines: rows.length === 0,
    counts: MACHINE_STATES.map((state) => ({
      state,
      count: machines.filter((m) => m.state === state).length,
    })),
    total: machines.length,
    provisioned: {
      installs: recent.length,
      median: duration(percentile(recent, 50)),
      p90: duration(percentile(recent, 90)),
      window: inputs.window,
    },
    inProgress,
    noneInProgress: inProgress.length === 0,
    mirror: inputs.mirror,
  };
}

export function machineRow(
  m: Machine,
  spans: readonly PhaseSpan[],
  now: number,
  handoff?: Handoff,
): MachineRow {
  return {
    mac: m.mac,
    href: `/ui/machines/${m.mac}`,
    hostname: m.facts.hostname ?? '',
    profile: m.profile ?? '',
    state: m.state,
    lastSeen: formatTime(m.lastSeen),
    lastSeenAgo: formatAgo(m.lastSeen, now),
    bar: timelineBar(spans, m.state, now),
    handoff: handoff ? { method: handoff.method, reason: handoff.reason ?? '' } : undefined,
  };
}

function inProgressRow(
  m: Machine,
  spans: readonly PhaseSpan[],
  image: ImageTransfer | undefined,
): InProgressRow {
  const last = spans.at(-1);
  return {
    mac: m.mac,
    href: `/ui/machines/${m.mac}`,
    hostname: m.facts.hostname ?? '',
    phase: last ? last.phase : 'waiting',
    image: image && {
      sent: formatBytes(image.sent),
      total: formatBytes(image.total),
      percent: image.total > 0 ? Math.floor((image.sent / image.total) * 100) : 0,
      value: image.sent,
      max: image.total,
      done: image.done,
    },
  };
}

function duration(seconds: number | undefined): string {
  return seconds === undefined ? 'n/a' : formatDuration(seconds);
}
