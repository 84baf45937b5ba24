import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { planHandoff } from './handoff-plan.ts';

const KEXEC = { handoff: 'kexec' as const, kexecChecks: true };
const facts = { mac: canonicalMac('52:54:00:00:00:01'), serial: 'SN1', rack: 'r7' };

test('the profile decides first: handoff reboot, kexecChecks', () => {
  assert.equal(planHandoff(KEXEC, facts, []), {
    method: 'kexec',
    reason: undefined,
    kexecChecks: true,
    dmiDeny: [],
  });
  assert.equal(planHandoff({ handoff: 'reboot', kexecChecks: true }, facts, [{ serial: 'SN1' }]), {
    method: 'reboot',
    reason: 'profile',
    kexecChecks: true,
    dmiDeny: [],
  });
  assert.is(planHandoff({ handoff: 'kexec', kexecChecks: false }, facts, []).kexecChecks, false);
});

test('a kexecDeny entry of facts only: reboot, naming the entry', () => {
  const plan = planHandoff(KEXEC, facts, [{ serial: 'other' }, { rack: 'r7', mac: '52-54-00-00-00-01' }]);
  assert.is(plan.method, 'reboot');
  assert.is(plan.reason, 'denied: installer.kexecDeny[1] matches rack=r7 mac=52:54:00:00:00:01');
});

test('entries naming SMBIOS strings go to the installer when their facts match', () => {
  const plan = planHandoff(KEXEC, facts, [
    { manufacturer: 'Acme', product: 'Hangs 9000' },
    { product: 'X1', rack: 'r7' },
    { product: 'X2', rack: 'r8' },
  ]);
  assert.is(plan.method, 'kexec');
  assert.equal(plan.dmiDeny, [
    { index: 0, manufacturer: 'Acme', product: 'Hangs 9000' },
    { index: 1, manufacturer: '', product: 'X1' },
  ]);
});

test.run();
