// A machine's timeline as a bar: one segment per phase, width proportional to its
// duration. A phase still running (the last one of an active machine) is measured up to
// now; a phase whose end was never reported gets a sliver and says so.
import type { MachineState } from '../machines/state.ts';
import type { Phase, PhaseSpan } from '../machines/timeline.ts';
import { formatDuration } from './format.ts';

export interface Segment {
  phase: Phase;
  /** Percent of the bar, one decimal. */
  width: string;
  /** "2 m 3 s", "1 m 2 s (running)" or "not reported". */
  duration: string;
  /** Hover text: "install: 2 m 3 s". */
  title: string;
  running: boolean;
  /** The install phase of a machine whose latest install failed. */
  failed: boolean;
}

export interface TimelineBar {
  segments: Segment[];
  empty: boolean;
  /** Sum of the measured phases, e.g. "6 m 12 s". */
  total: string;
}

const ACTIVE: readonly MachineState[] = ['installing', 'installed'];
const SLIVER_SECONDS_SHARE = 0.015;

export function timelineBar(spans: readonly PhaseSpan[], state: MachineState, now: number): TimelineBar {
  const measured = spans.map((span, i) =>
    measure(span, i === spans.length - 1 && ACTIVE.includes(state), now),
  );
  const total = measured.reduce((sum, m) => sum + (m.seconds ?? 0), 0);
  const sliver = Math.max(total * SLIVER_SECONDS_SHARE, 0.001);
  const widths = measured.map((m) => Math.max(m.seconds ?? 0, sliver));
  const widthSum = widths.reduce((a, b) => a + b, 0);
  const segments = measured.map((m, i) => {
    const failed = state === 'failed' && m.phase === 'install';
    const suffix = m.running ? ' (running)' : failed ? ' (failed)' : '';
    const duration = m.seconds === null ? 'not reported' : `${formatDuration(m.seconds)}${suffix}`;
    return {
      phase: m.phase,
      width: (((widths[i] ?? 0) / widthSum) * 100).toFixed(1),
      duration,
      title: `${m.phase}: ${duration}`,
      running: m.running,
      failed,
    };
  });
  return { segments, empty: segments.length === 0, total: formatDuration(total) };
}

function measure(
  span: PhaseSpan,
  runningIfOpen: boolean,
  now: number,
): { phase: Phase; seconds: number | null; running: boolean } {
  if (span.seconds !== null) return { phase: span.phase, seconds: span.seconds, running: false };
  if (!runningIfOpen) return { phase: span.phase, seconds: null, running: false };
  return { phase: span.phase, seconds: Math.max(0, (now - Date.parse(span.start)) / 1000), running: true };
}
