// The machine page's view model: record, timeline bar and phase table, every event, and
// the iPXE script /ipxe would answer now (a side-effect-free preview).
import type { BootDecision } from '../boot/service.ts';
import { NotFoundError } from '../errors.ts';
import { latestHandoff } from '../machines/handoff.ts';
import { canonicalMac } from '../machines/identity.ts';
import { timeline } from '../machines/timeline.ts';
import type { StateStore } from '../store/state-store.ts';
import { formatDuration, formatTime } from './format.ts';
import { type MachineRow, machineRow } from './overview.ts';

/** What the dashboard needs from the boot service: a preview that records nothing. */
export interface BootPreview {
  preview(mac: string): Promise<BootDecision | undefined>;
}

export interface DetailModel extends MachineRow {
  group: string;
  failures: number;
  failureReason: string;
  firstSeen: string;
  facts: Array<{ name: string; value: string }>;
  phases: Array<{ phase: string; start: string; end: string; duration: string }>;
  events: Array<{ at: string; type: string; source: string; state: string; data: string }>;
  script: { kind: string; text: string } | { kind: 'error'; text: string };
}

export async function buildDetail(
  store: StateStore,
  boot: BootPreview,
  rawMac: string,
  now: number,
): Promise<DetailModel> {
  const mac = canonicalMac(rawMac);
  const machine = await store.getMachine(mac);
  if (!machine) throw new NotFoundError(`no machine ${mac} (never seen)`);
  const events = await store.events(mac, { limit: 1000 });
  const spans = timeline(events);
  return {
    ...machineRow(machine, spans, now, latestHandoff(events)),
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
    events: events
      .map((e) => ({
        at: formatTime(e.at),
        type: e.type,
        source: e.source,
        state: e.state,
        data: Object.keys(e.data).length ? JSON.stringify(e.data) : '',
      }))
      .reverse(),
    script: await previewScript(boot, mac),
  };
}

async function previewScript(boot: BootPreview, mac: string): Promise<DetailModel['script']> {
  try {
    const decision = await boot.preview(mac);
    return decision ? { kind: decision.kind, text: decision.script } : { kind: 'none', text: '' };
  } catch (err) {
    return { kind: 'error', text: err instanceof Error ? err.message : String(err) };
  }
}
