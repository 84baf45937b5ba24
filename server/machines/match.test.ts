import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from './identity.ts';
import { canonicalSelector, selectGroup, sortGroups } from './match.ts';
import type { Group } from './model.ts';

const group = (id: string, selector: Record<string, string>): Group => ({
  id,
  profile: `p-${id}`,
  selector: canonicalSelector(selector),
  metadata: {},
});

const groups = [
  group('default', {}),
  group('rack1', { rack: 'r1' }),
  group('node1', { mac: '52-54-00-00-00-01' }),
  group('node1-efi', { mac: '52:54:00:00:00:01', platform: 'efi' }),
  group('efi', { platform: 'efi' }),
];

test('more selectors win, default catches the rest', () => {
  const sorted = sortGroups(groups);
  assert.is(
    selectGroup(sorted, { mac: canonicalMac('52:54:00:00:00:01'), platform: 'efi' })?.id,
    'node1-efi',
  );
  assert.is(selectGroup(sorted, { mac: canonicalMac('52:54:00:00:00:01'), platform: 'pcbios' })?.id, 'node1');
  assert.is(
    selectGroup(sorted, { mac: canonicalMac('52:54:00:00:00:02'), platform: 'pcbios' })?.id,
    'default',
  );
});

test('ties are broken by the sorted key=value string, independent of load order', () => {
  const a = sortGroups(groups);
  const b = sortGroups([...groups].reverse());
  assert.equal(
    a.map((g) => g.id),
    b.map((g) => g.id),
  );
  // rack=r1 sorts before platform=efi? "platform=efi" < "rack=r1"
  assert.is(selectGroup(a, { platform: 'efi', rack: 'r1' })?.id, 'efi');
});

test('no match and no default group gives undefined', () => {
  const sorted = sortGroups(groups.filter((g) => g.id !== 'default'));
  assert.is(selectGroup(sorted, { mac: canonicalMac('52:54:00:00:00:09') }), undefined);
});

test('MAC selectors are canonical whatever form they were written in', () => {
  assert.equal(canonicalSelector({ mac: '5254.0000.0001' }), { mac: '52:54:00:00:00:01' });
});

test.run();
