// Fleet figures: time-to-provisioned of the latest installs, median and p90.
import type { PhaseSpan } from '../machines/timeline.ts';

/**
 * Seconds from the install script being served to the machine being provisioned: its
 * first-boot report, or (phoneHome off) the disk-boot script. undefined when the latest
 * attempt has not got that far.
 */
export function timeToProvisioned(spans: readonly PhaseSpan[]): { seconds: number; at: string } | undefined {
  const script = spans.find((s) => s.phase === 'script');
  const disk = spans.find((s) => s.phase === 'disk-boot');
  if (!script || !disk) return undefined;
  const at = disk.end ?? disk.start;
  const seconds = (Date.parse(at) - Date.parse(script.start)) / 1000;
  return seconds >= 0 ? { seconds, at } : undefined;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; undefined for none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

/** The `limit` most recent of the finished installs (by when they finished). */
export function latest<T extends { at: string }>(items: readonly T[], limit: number): T[] {
  return [...items].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).slice(0, limit);
}
