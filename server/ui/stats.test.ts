import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { timeline } from '../machines/timeline.ts';
import { latest, percentile, timeToProvisioned } from './stats.ts';

test('nearest-rank percentiles', () => {
  const values = [50, 10, 40, 20, 30, 60, 70, 80, 90, 100];
  assert.is(percentile(values, 50), 50);
  assert.is(percentile(values, 90), 90);
  assert.is(percentile([7], 90), 7);
  assert.is(percentile([], 50), undefined);
});

test('time to provisioned: script served → first boot, else → disk boot', () => {
  const ev = (type: Parameters<typeof timeline>[0][number]['type'], s: number) => ({
    type,
    source: 'http' as const,
    at: new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString(),
    data: {},
  });
  const full = [ev('install-script-served', 0), ev('install-started', 60), ev('installed', 200)];
  assert.is(timeToProvisioned(timeline(full)), undefined);
  const disk = [...full, ev('disk-boot-script-served', 260)];
  assert.is(timeToProvisioned(timeline(disk))?.seconds, 260);
  assert.is(timeToProvisioned(timeline([...disk, ev('first-boot', 330)]))?.seconds, 330);
});

test('latest N by finish time', () => {
  const items = [{ at: '2026-01-01' }, { at: '2026-03-01' }, { at: '2026-02-01' }];
  assert.equal(latest(items, 2), [{ at: '2026-03-01' }, { at: '2026-02-01' }]);
});

test.run();
