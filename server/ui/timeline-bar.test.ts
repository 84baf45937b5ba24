import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PhaseSpan } from '../machines/timeline.ts';
import { timelineBar } from './timeline-bar.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();
const span = (phase: PhaseSpan['phase'], from: number, to: number | null): PhaseSpan => ({
  phase,
  start: iso(from),
  end: to === null ? null : iso(to),
  seconds: to === null ? null : to - from,
});

test('segment widths are proportional to durations and sum to 100%', () => {
  const bar = timelineBar(
    [span('script', 0, 10), span('download', 10, 40), span('install', 40, 100)],
    'installed',
    T0,
  );
  assert.equal(
    bar.segments.map((s) => [s.phase, s.width, s.duration]),
    [
      ['script', '10.0', '10 s'],
      ['download', '30.0', '30 s'],
      ['install', '60.0', '1 m 0 s'],
    ],
  );
  assert.is(bar.segments[2]?.title, 'install: 1 m 0 s');
  assert.is(bar.total, '1 m 40 s');
});

test('the open last phase of an active machine runs until now; otherwise it is "not reported"', () => {
  const spans = [span('script', 0, 30), span('install', 30, null)];
  const running = timelineBar(spans, 'installing', T0 + 90_000);
  assert.is(running.segments[1]?.duration, '1 m 0 s (running)');
  assert.ok(running.segments[1]?.running);
  assert.is(running.segments[1]?.width, '66.7');
  const stale = timelineBar(spans, 'provisioned', T0 + 90_000);
  assert.is(stale.segments[1]?.duration, 'not reported');
  assert.ok(Number(stale.segments[1]?.width) > 0 && Number(stale.segments[1]?.width) < 3);
});

test('a failed install says so in text, not only in colour', () => {
  const bar = timelineBar([span('script', 0, 10), span('install', 10, 70)], 'failed', T0);
  assert.is(bar.segments[1]?.duration, '1 m 0 s (failed)');
  assert.ok(bar.segments[1]?.failed);
  assert.not.ok(bar.segments[0]?.failed);
});

test('no spans: an empty bar', () => {
  assert.ok(timelineBar([], 'new', T0).empty);
});

test.run();
