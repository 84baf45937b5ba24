import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { newMachine } from '../machines/state.ts';
import { LastKnownMachines } from './last-known.ts';
import type { ChangeListener, Recorded } from './state-store.ts';

const A = canonicalMac('52:54:00:00:07:0a');

function setup(maxAgeMs = 1000) {
  let listener: ChangeListener = () => undefined;
  let now = 0;
  const cache = new LastKnownMachines(
    {
      subscribe: (l) => {
        listener = l;
        return () => undefined;
      },
    },
    { maxAgeMs, now: () => now },
  );
  const record = (eventId: number, state: 'installed' | 'reprovision-requested') =>
    cache.listener({
      machine: { ...newMachine(A, 'x'), state },
      event: {
        id: eventId,
        mac: A,
        type: 'installed',
        source: 'installer',
        at: 'x',
        data: {},
        state,
        attemptId: null,
      },
    } as Recorded);
  return {
    cache,
    record,
    change: (c: Parameters<ChangeListener>[0]) => listener(c),
    tick: (ms: number) => (now += ms),
  };
}

test('this instance’s writes and the others’ (the feed): the newest event wins', () => {
  const { cache, record, change } = setup();
  record(5, 'installed');
  assert.is(cache.get(A)?.state, 'installed');
  change({ mac: A, eventId: 4, state: 'reprovision-requested' });
  assert.is(cache.get(A)?.state, 'installed', 'an older event elsewhere changes nothing');
  change({ mac: A, eventId: 9, state: 'reprovision-requested' });
  assert.is(cache.get(A)?.state, 'reprovision-requested');
  record(8, 'installed');
  assert.is(cache.get(A)?.state, 'reprovision-requested', 'a write of ours that lost the race to event 9');
  record(10, 'installed');
  assert.is(cache.get(A)?.state, 'installed');
});

test('a feed reset drops everything; old entries are not used', () => {
  const { cache, record, change, tick } = setup(1000);
  record(1, 'installed');
  change(undefined);
  assert.is(cache.get(A), undefined);
  record(2, 'installed');
  tick(1001);
  assert.is(cache.get(A), undefined, 'older than maxAgeMs');
});

test.run();
