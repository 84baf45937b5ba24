// The machine page's view model: record, timeline bar and phase table, its install
// attempts, every event grouped by the attempt it belongs to, and the iPXE script /ipxe
// would answer now (a side-effect-free preview).
import type { BootDecision } from '../boot/service.ts';
import { NotFoundError } from '../errors.ts';
import { latestHandoff } from '../machines/handoff.ts';
import type { Mac } from '../machines/identity.ts';
import { timeline } from '../machines/timeline.ts';
import type { StateStore, StoredAttempt, StoredEvent } from '../store/state-store.ts';
import { formatDuration, formatTime } from './format.ts';
import { type MachineRow, machineRow } from './overview.ts';

/** What the dashboard needs from the boot service: a preview that records nothing. */
export interface BootPreview {
  preview(mac: Mac): Promise<BootDecision | undefined>;
}

export interface DetailModel extends MachineRow {
  group: string;
  failures: number;
  failureReason: string;
  firstSeen: string;
  facts: Array<{ name: string; value: string }>;
  phases: Array<{ phase: string; start: string; end: string; duration: string }>;
  events: EventRow[];
  attempts: AttemptRow[];
  /** Runs of consecutive events (newest first) of one attempt, or of none. */
  eventGroups: Array<{ title: string; events: EventRow[] }>;
  script: { kind: string; text: string } | { kind: 'error'; text: string };
}

interface EventRow {
  at: string;
  type: string;
  source: string;
  state: string;
  data: string;
}

interface AttemptRow {
  id: number;
  state: string;
  profile: string;
  group: string;
  release: string;
  installDisk: string;
  client: string;
  opened: string;
  closed: string;
}

export async function buildDetail(
  store: StateStore,
  boot: BootPreview,
  mac: Mac,
  now: number,
): Promise<DetailModel> {
  const machine = await store.getMachine(mac);
  if (!machine) throw new NotFoundError(`no machine ${mac} (never seen)`);
  const events = await store.events(mac, { limit: 1000 });
  const attempts = await store.attempts(mac, { limit: 50 });
  const latest = attempts[0];
  const current = latest ? events.filter((e) => e.attemptId === latest.id) : events;
  const spans = timeline(current);
  return {
    ...machineRow(machine, spans, now, latestHandoff(current)),
    group: machine.group ?? '',
    failures: machine.failures,
    failureReason: machine.failureReason ?? '',
    firstSeen: formatTime(machine.firstSeen),
    facts: Object.entries(machine.facts).map(([name, value]) => ({ name, value: String(value) })),
    phases: spans.map((s) => ({
      phase: s.phase,
      start: formatTime(s.start),
      end: s.end ? formatTime(s.end) : 'not yet',
      duration: s.seconds === null ? 'running or not reported' : formatDuration(s.seconds),
    })),
    events: events.map(eventRow).reverse(),
    attempts: attempts.map(attemptRow),
    eventGroups: groupRuns(events, attempts),
    script: await previewScript(boot, mac),
  };
}

async function previewScript(boot: BootPreview, mac: Mac): Promise<DetailModel['script']> {
  try {
    const decision = await boot.preview(mac);
    return decision ? { kind: decision.kind, text: decision.script } : { kind: 'none', text: '' };
  } catch (err) {
    return { kind: 'error', text: err instanceof Error ? err.message : String(err) };
  }
}

function eventRow(e: StoredEvent): EventRow {
  return {
    at: formatTime(e.at),
    type: e.type,
    source: e.source,
    state: e.state,
    data: Object.keys(e.data).length ? JSON.stringify(e.data) : '',
  };
}

function attemptRow(a: StoredAttempt): AttemptRow {
  return {
    id: a.id,
    state: a.state,
    profile: `${a.profile} (revision ${a.profileRevision.slice(0, 8)})`,
    group: a.group,
    release: `${a.channel}/${a.board} ${a.version}`,
    installDisk: a.installDisk,
    client: a.clientIp ?? 'unknown',
    opened: formatTime(a.openedAt),
    closed: a.closedAt ? formatTime(a.closedAt) : 'open',
  };
}

function groupRuns(
  events: readonly StoredEvent[],
  attempts: readonly StoredAttempt[],
): DetailModel['eventGroups'] {
  const byId = new Map(attempts.map((a) => [a.id, a]));
  const title = (id: number | null) => {
    if (id === null) return 'Outside any install attempt';
    const a = byId.get(id);
    return a
      ? `Install attempt ${id} (${a.state}, profile ${a.profile}, ${a.version})`
      : `Install attempt ${id}`;
  };
  const groups: DetailModel['eventGroups'] = [];
  let current: number | null | undefined;
  for (const e of [...events].reverse()) {
    if (groups.length === 0 || e.attemptId !== current) {
      current = e.attemptId;
      groups.push({ title: title(current), events: [] });
    }
    groups.at(-1)?.events.push(eventRow(e));
  }
  return groups;
}
