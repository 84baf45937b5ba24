import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StoredEvent } from '../store/state-store.ts';
import { writeProgress } from './write-progress.ts';

let id = 0;
const ev = (type: string, data: Record<string, string | number> = {}): StoredEvent =>
  ({
    id: ++id,
    mac: 'm',
    state: 'installing',
    type,
    source: 'installer',
    at: '2026-01-01T00:00:00Z',
    data,
  }) as StoredEvent;

test('write progress of the latest attempt: path and reason, bytes of total, finished phases', () => {
  const plan = ev('progress', {
    phase: 'plan',
    image: 'zstd',
    writer: 'dense',
    reason: 'profile image: zstd',
  });
  const events = [
    ev('install-started'),
    ev('progress', { phase: 'plan', image: 'bz2', writer: 'dense', reason: 'old attempt' }),
    ev('install-failed'),
    ev('install-started'),
    plan,
    ev('progress', { phase: 'write', bytes: 2_000_000_000, total: 8_000_000_000 }),
  ];
  const running = writeProgress(events);
  assert.is(running?.path, 'zstd (dense)');
  assert.is(running?.reason, 'profile image: zstd');
  assert.equal(running?.bar, { value: 2_000_000_000, max: 8_000_000_000, percent: 25 });
  assert.match(running?.written ?? '', / of /);
  const done = writeProgress([
    ...events,
    ev('progress', { phase: 'download', bytes: 600_000_000, seconds: 1.2, mbps: 500 }),
    ev('progress', { phase: 'write', bytes: 8_000_000_000, seconds: 6, mbps: 1333.3 }),
    ev('progress', { phase: 'verify', bytes: 600_000_000, seconds: 0.5, mbps: 1200 }),
  ]);
  assert.is(done?.bar, undefined);
  assert.is(done?.phases, 'download 500 MB/s · write 1333 MB/s · verify 1200 MB/s');
  assert.not.match(done?.written ?? '', / of /);
  assert.is(writeProgress([ev('install-started')]), undefined, 'nothing reported yet');
});

test.run();
