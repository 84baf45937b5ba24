// The installer's own image progress for the dashboard, from its `progress` reports in the
// latest attempt (write-image.sh): the image path and writer it took (and why), bytes written
// to the disk so far of the expected total, and per finished phase its MB/s. Beside the
// image-served progress (progress.ts), which is what railyard sent, this is what the node wrote.
import type { StoredEvent } from '../store/state-store.ts';
import { formatBytes } from './format.ts';

export interface WriteProgress {
  path: string;
  reason: string;
  written: string;
  /** Set while the write runs and its total is known. */
  bar: { value: number; max: number; percent: number } | undefined;
  /** "download 812 MB/s · write 1330 MB/s · verify 990 MB/s" (phases finished so far). */
  phases: string;
}

const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

export function writeProgress(events: readonly StoredEvent[]): WriteProgress | undefined {
  const start = events.findLastIndex(
    (e) => e.type === 'install-started' || e.type === 'install-script-served',
  );
  const progress = events.slice(start + 1).filter((e) => e.type === 'progress' && e.data['phase']);
  const plan = progress.findLast((e) => e.data['phase'] === 'plan');
  if (!plan) return undefined;
  const writes = progress.filter((e) => e.data['phase'] === 'write');
  const finished = progress.filter((e) => num(e.data['seconds']) !== undefined);
  const done = writes.findLast((e) => num(e.data['seconds']) !== undefined);
  const last = done ?? writes.at(-1);
  const bytes = num(last?.data['bytes']) ?? 0;
  const total = num(last?.data['total']) ?? 0;
  const percent = total > 0 ? Math.min(100, Math.floor((bytes / total) * 100)) : 0;
  return {
    path: `${plan.data['image']} (${plan.data['writer']})`,
    reason: String(plan.data['reason'] ?? ''),
    written: last
      ? `${formatBytes(bytes)}${total > 0 && !done ? ` of ${formatBytes(total)}` : ''} written`
      : 'starting',
    bar: !done && total > 0 ? { value: bytes, max: total, percent } : undefined,
    phases: finished
      .map((e) => `${e.data['phase']} ${num(e.data['mbps'])?.toFixed(0) ?? '?'} MB/s`)
      .join(' · '),
  };
}
