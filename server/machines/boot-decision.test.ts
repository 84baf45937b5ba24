import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bootDecision, localBootMode } from './boot-decision.ts';
import { canonicalMac } from './identity.ts';
import { type Machine, newMachine } from './state.ts';

const profile = { onFailure: 'retry', localBoot: 'auto' } as const;
const m = (state: Machine['state'], failures = 0): Machine => ({
  ...newMachine(canonicalMac('52:54:00:00:00:01'), '2026-01-01T00:00:00Z'),
  state,
  failures,
  failureReason: failures ? 'boom' : null,
});

test('install until installed, then disk', () => {
  assert.equal(bootDecision(undefined, profile, 3), { action: 'install' });
  for (const s of ['new', 'installing', 'reprovision-requested'] as const)
    assert.is(bootDecision(m(s), profile, 3).action, 'install');
  assert.equal(bootDecision(m('installed'), profile, 3), { action: 'disk', localBoot: 'auto' });
  assert.equal(bootDecision(m('provisioned'), { ...profile, localBoot: 'exit' }, 3), {
    action: 'disk',
    localBoot: 'exit',
  });
});

test('failed: retry up to the limit, then show the reason', () => {
  assert.is(bootDecision(m('failed', 3), profile, 3).action, 'install');
  assert.equal(bootDecision(m('failed', 4), profile, 3), {
    action: 'show-failure',
    reason: 'boom',
    failures: 4,
  });
  assert.is(bootDecision(m('failed', 1), { ...profile, retryLimit: 0 }, 3).action, 'show-failure');
  assert.is(bootDecision(m('failed', 1), { ...profile, onFailure: 'show' }, 3).action, 'show-failure');
});

test('the local-boot rule: auto is exit under UEFI and sanboot under BIOS; an explicit mode stays', () => {
  assert.is(localBootMode('auto', 'efi'), 'exit');
  assert.is(localBootMode('auto', 'pcbios'), 'sanboot');
  assert.is(localBootMode('auto', undefined), 'sanboot');
  assert.is(localBootMode('sanboot', 'efi'), 'sanboot');
  assert.is(localBootMode('exit', 'pcbios'), 'exit');
});

test.run();
