import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { latestHandoff, reasonCode } from './handoff.ts';
import type { EventType, MachineEvent } from './state.ts';

const ev = (type: EventType, s: number, data: MachineEvent['data'] = {}): MachineEvent => ({
  type,
  source: 'installer',
  at: new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString(),
  data,
});

test('reasonCode: a known code, with or without a printable detail', () => {
  assert.is(reasonCode('profile'), 'profile');
  assert.is(reasonCode('denied: installer.kexecDeny[0] manufacturer=Acme'), 'denied');
  assert.is(reasonCode('gpt-slot: GRUB would boot USR-B'), 'gpt-slot');
  for (const bad of ['', 'Profile', 'nope', 'profile:x', 'profile: \u00e9', `profile: ${'x'.repeat(401)}`])
    assert.is(reasonCode(bad), undefined, JSON.stringify(bad));
});

test('latestHandoff: the latest attempt only', () => {
  assert.is(latestHandoff([]), undefined);
  const events = [
    ev('install-script-served', 0),
    ev('installed', 10),
    ev('handoff', 11, { method: 'reboot', reason: 'kexec-load-disabled' }),
    ev('first-boot', 30),
  ];
  assert.equal(latestHandoff(events), {
    method: 'reboot',
    reason: 'kexec-load-disabled',
    at: events[2]!.at,
  });
  assert.is(latestHandoff([...events, ev('reprovision-requested', 40)]), undefined);
  const again = [...events, ev('install-script-served', 50), ev('handoff', 60, { method: 'kexec' })];
  assert.equal(latestHandoff(again)?.method, 'kexec');
  assert.is(latestHandoff(again)?.reason, null);
});

test.run();
