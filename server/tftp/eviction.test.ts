import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type EvictableSlot, pickVictim, SuspectAddresses } from './eviction.ts';

interface S extends EvictableSlot {
  id: string;
}
const started = (id: string, ip: string, answered = false): S => ({ id, ip, transfer: { answered } });
const opening = (id: string, ip: string): S => ({ id, ip });
const all = () => true;
const pick = (slots: S[], suspects = new SuspectAddresses(), which: (s: S) => boolean = all) =>
  pickVictim(slots, suspects, which)?.id;

test('answered transfers never go; the oldest silent one does', () => {
  assert.is(pick([started('a', '10.0.0.1', true), started('b', '10.0.0.2'), started('c', '10.0.0.3')]), 'b');
  assert.is(pick([started('a', '10.0.0.1', true)]), undefined);
  assert.is(pick([]), undefined);
});

test('slots still opening their file can go when nothing else can (a flood of slow opens)', () => {
  assert.is(pick([opening('a', '10.0.0.1'), started('b', '10.0.0.2')]), 'b', 'a started silent one first');
  assert.is(pick([started('a', '10.0.0.1', true), opening('b', '10.0.0.2'), opening('c', '10.0.0.3')]), 'b');
});

test('suspect addresses (evicted before, asking again) go before a fresh client, opening or not', () => {
  const suspects = new SuspectAddresses();
  suspects.add('10.9.0.1');
  suspects.add('10.9.0.2');
  const fresh = started('real', '10.0.0.7');
  assert.is(pick([fresh, started('f1', '10.9.0.1')], suspects), 'f1');
  assert.is(pick([fresh, opening('f2', '10.9.0.2')], suspects), 'f2');
  assert.is(pick([opening('f2', '10.9.0.2'), started('f1', '10.9.0.1')], suspects), 'f1');
  assert.is(pick([fresh], suspects), 'real', 'without suspects the oldest silent still goes');
  suspects.clear('10.9.0.1');
  assert.is(pick([fresh, started('f1', '10.9.0.1')], suspects), 'real', 'a completed transfer clears it');
});

test('`which` limits the candidates (per-client limit); the suspect set is bounded', () => {
  assert.is(
    pick(
      [started('a', '10.0.0.1'), started('b', '10.0.0.2')],
      new SuspectAddresses(),
      (s) => s.ip === '10.0.0.2',
    ),
    'b',
  );
  const suspects = new SuspectAddresses();
  for (let i = 0; i < 5000; i++) suspects.add(`10.1.${i >> 8}.${i & 255}`);
  assert.not.ok(suspects.has('10.1.0.0'), 'the oldest are forgotten');
  assert.ok(suspects.has('10.1.19.135'));
});

test.run();
