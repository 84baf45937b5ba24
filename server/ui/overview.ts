// The dashboard's main view model: fleet summary, installs in progress, one row per
// machine with its timeline bar, and the mirror. Built from the store on each request.
import { type Handoff, latestHandoff } from '../machines/handoff.ts';
import type { Mac } from '../machines/identity.ts';
import { MACHINE_STATES, type Machine } from '../machines/state.ts';
import { type PhaseSpan, timeline } from '../machines/timeline.ts';
import type { StateStore } from '../store/state-store.ts';
import { formatAgo, formatBytes, formatDuration, formatTime } from './format.ts';
import type { MirrorModel } from './mirror-model.ts';
import type { ImageProgress, ImageTransfer } from './progress.ts';
import { latest, percentile, timeToProvisioned } from './stats.ts';
import { type TimelineBar, timelineBar } from './timeline-bar.ts';
import { type WriteProgress, writeProgress } from './write-progress.ts';

export interface MachineRow {
  mac: Mac;
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
  mac: Mac;
  href: string;
  hostname: string;
  phase: string;
  image:
    | { sent: string; total: string; percent: number; value: number; max: number; done: boolean }
    | undefined;
  /** What the installer reports it wrote to the disk (image path, bytes, MB/s per phase). */
  write: WriteProgress | undefined;
}

export interface Pagination {
  page: number;
  pages: number;
  /** 1-based positions of the first and last machine shown. */
  from: number;
  to: number;
  prev: string | undefined;
  next: string | undefined;
  several: boolean;
}

export interface OverviewModel {
  generatedAt: string;
  machines: MachineRow[];
  noMachines: boolean;
  pagination: Pagination;
  counts: Array<{ state: string; count: number }>;
  total: number;
  provisioned: { installs: number; median: string; p90: string; window: number };
  inProgress: InProgressRow[];
  noneInProgress: boolean;
  /** Machines installing beyond the ones listed. */
  moreInProgress: number;
  mirror: MirrorModel;
}

export interface OverviewInputs {
  store: StateStore;
  progress: ImageProgress;
  mirror: MirrorModel;
  /** How many of the latest finished installs the median and p90 cover. */
  window: number;
  now: number;
  /** 1-based page of the machine table. */
  page?: number;
}

/** Machines per page of the fleet table; installs in progress listed at most. */
export const PAGE_SIZE = 100;
export const IN_PROGRESS_SHOWN = 50;
/** Events read per machine, of its latest attempt: enough for its timeline. */
const EVENTS_PER_MACHINE = 200;

/**
 * A constant number of store queries whatever the fleet size: counts, one page of
 * machines, the installs in progress and their open attempts, the events of their latest
 * attempts in one batch, and the latest provisioned attempts (with their events) for the
 * figures.
 */
export async function buildOverview(inputs: OverviewInputs): Promise<OverviewModel> {
  const { store, now } = inputs;
  const counts = await store.fleet.countByState();
  const total = MACHINE_STATES.reduce((n, s) => n + counts[s], 0);
  const pagination = paginate(total, inputs.page ?? 1);
  const offset = (pagination.page - 1) * PAGE_SIZE;
  const machines = await store.fleet.machinePage({ offset, limit: PAGE_SIZE });
  const installing = await store.fleet.machinePage({
    offset: 0,
    limit: IN_PROGRESS_SHOWN,
    state: 'installing',
  });
  const events = await store.fleet.attemptEvents(
    [...new Set([...machines, ...installing].map((m) => m.mac))],
    EVENTS_PER_MACHINE,
  );
  const spans = (mac: Mac) => timeline(events.get(mac) ?? []);
  const open = await store.fleet.openAttemptsOf(installing.map((m) => m.mac));
  const recent = (await finishedInstalls(store, inputs.window)).map((f) => f.seconds);
  const inProgress = installing.map((m) =>
    inProgressRow(
      m,
      spans(m.mac),
      inputs.progress.forAttempt(open.get(m.mac)),
      writeProgress(events.get(m.mac) ?? []),
    ),
  );
  return {
    generatedAt: formatTime(new Date(now).toISOString()),
    machines: machines.map((m) => machineRow(m, spans(m.mac), now, latestHandoff(events.get(m.mac) ?? []))),
    noMachines: total === 0,
    pagination,
    counts: MACHINE_STATES.map((state) => ({ state, count: counts[state] })),
    total,
    provisioned: {
      installs: recent.length,
      median: duration(percentile(recent, 50)),
      p90: duration(percentile(recent, 90)),
      window: inputs.window,
    },
    inProgress,
    noneInProgress: inProgress.length === 0,
    moreInProgress: Math.max(0, counts.installing - inProgress.length),
    mirror: inputs.mirror,
  };
}

/** The latest `window` finished installs: the attempts that ended provisioned most recently. */
async function finishedInstalls(store: StateStore, window: number) {
  const found: Array<{ seconds: number; at: string }> = [];
  for (const events of await store.fleet.provisionedInstalls(window, EVENTS_PER_MACHINE)) {
    const t = timeToProvisioned(timeline(events));
    if (t) found.push(t);
  }
  return latest(found, window);
}

function paginate(total: number, requested: number): Pagination {
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const page = Math.min(Math.max(1, Math.floor(requested)), pages);
  const from = (page - 1) * PAGE_SIZE + 1;
  return {
    page,
    pages,
    from: total === 0 ? 0 : from,
    to: Math.min(total, page * PAGE_SIZE),
    prev: page > 1 ? `/ui?page=${page - 1}` : undefined,
    next: page < pages ? `/ui?page=${page + 1}` : undefined,
    several: pages > 1,
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
  write: WriteProgress | undefined,
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
    write,
  };
}

function duration(seconds: number | undefined): string {
  return seconds === undefined ? 'n/a' : formatDuration(seconds);
}
