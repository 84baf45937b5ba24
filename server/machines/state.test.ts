import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidRequestError } from '../errors.ts';
import { canonicalMac } from './identity.ts';
import { parseReport } from './report.ts';
import { applyEvent, type EventType, type Machine, type MachineEvent, newMachine } from './state.ts';

const MAC = canonicalMac('52:54:00:00:00:01');
let clock = 0;
const ev = (type: EventType, data: MachineEvent['data'] = {}): MachineEvent => ({
  type,
  source: 'http',
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, clock++)).toISOString(),
  data,
});
const run = (
  types: Array<EventType | MachineEvent>,
  start: Machine = newMachine(MAC, '2026-01-01T00:00:00.000Z'),
) => types.reduce((m, t) => applyEvent(m, typeof t === 'string' ? ev(t) : t), start);

test('happy path: new → installing → installed → provisioned', () => {
  assert.is(run([]).state, 'new');
  assert.is(run(['install-script-served']).state, 'installing');
  assert.is(
    run(['install-script-served', 'kernel-fetched', 'initrd-fetched', 'installer-fetched']).state,
    'installing',
  );
  assert.is(run(['install-script-served', 'install-started', 'installed']).state, 'installed');
  assert.is(
    run(['install-script-served', 'install-started', 'installed', 'disk-boot-script-served']).state,
    'provisioned',
  );
  assert.is(run(['installed', 'first-boot']).state, 'provisioned');
});

test('timeline-only events keep the state and move lastSeen', () => {
  const m = run(['install-script-served', 'install-started', 'installed']);
  for (const t of [
    'kernel-fetched',
    'initrd-fetched',
    'installer-fetched',
    'progress',
    'failure-script-served',
  ] as const) {
    const after = applyEvent(m, ev(t));
    assert.is(after.state, 'installed');
    assert.ok(after.lastSeen > m.lastSeen);
  }
});

test('reports are accepted out of order and the state follows them', () => {
  assert.is(run(['installed']).state, 'installed');
  assert.is(run(['installed', 'install-started']).state, 'installing');
  assert.is(run(['first-boot']).state, 'provisioned');
  assert.is(run(['disk-boot-script-served']).state, 'new', 'disk boot only promotes an installed machine');
});

test('install-failed counts failures and keeps the reason; reprovision resets them', () => {
  const failed = run([
    'install-started',
    ev('install-failed', { exitCode: 1, output: 'a\nno disk found\n' }),
  ]);
  assert.is(failed.state, 'failed');
  assert.is(failed.failures, 1);
  assert.is(failed.failureReason, 'flatcar-install exited with 1: no disk found');
  const gpg = run([
    ev('install-failed', {
      exitCode: 1,
      output:
        'gpgv: Signature made Thu\ngpgv: BAD signature from "Test <t@x>"\nflatcar-install: wiping the partition table\n',
    }),
  ]);
  assert.is(gpg.failureReason, 'flatcar-install exited with 1: gpgv: BAD signature from "Test <t@x>"');
  const twice = run(['install-script-served', ev('install-failed', { exitCode: 2 })], failed);
  assert.is(twice.failures, 2);
  assert.is(twice.state, 'failed');
  const again = run(['reprovision-requested'], twice);
  assert.equal([again.state, again.failures, again.failureReason], ['reprovision-requested', 0, null]);
  assert.is(run(['install-script-served'], again).state, 'installing');
});

test('applyEvent does not mutate its input', () => {
  const m = newMachine(MAC, '2026-01-01T00:00:00.000Z');
  const copy = structuredClone(m);
  applyEvent(m, ev('install-failed', { exitCode: 3 }));
  assert.equal(m, copy);
});

test('parseReport: the allow-list and sources', () => {
  assert.equal(parseReport({ type: 'install-started' }), {
    type: 'install-started',
    source: 'installer',
    data: {},
  });
  assert.equal(parseReport({ type: 'install-failed', exitCode: 1, output: 'x' }).data, {
    exitCode: 1,
    output: 'x',
  });
  assert.equal(parseReport({ type: 'first-boot', ignitionSha256: 'a'.repeat(64) }).source, 'node');
  assert.equal(parseReport({ type: 'first-boot', ignitionSha256: '' }).data, { ignitionSha256: '' });
  assert.equal(parseReport({ type: 'progress', bytes: 10 }).data, { bytes: 10 });
  assert.equal(parseReport({ type: 'progress', phase: 'write', bytes: 5, mbps: 812.5, done: false }).data, {
    phase: 'write',
    bytes: 5,
    mbps: 812.5,
    done: false,
  });
  assert.equal(parseReport({ type: 'handoff', method: 'kexec' }), {
    type: 'handoff',
    source: 'installer',
    data: { method: 'kexec' },
  });
  assert.equal(
    parseReport({
      type: 'handoff',
      method: 'reboot',
      reason: 'kexec-load-disabled: /proc/sys/kernel/kexec_load_disabled is 1',
    }).data,
    { method: 'reboot', reason: 'kexec-load-disabled: /proc/sys/kernel/kexec_load_disabled is 1' },
  );
  assert.equal(parseReport({ type: 'install-failed', reason: 'digest mismatch' }).data, {
    output: '',
    reason: 'digest mismatch',
  });
});

test('parseReport refuses anything else', () => {
  for (const body of [
    null,
    'installed',
    {},
    { type: 'reprovision-requested' },
    { type: 'disk-boot-script-served' },
    { type: 'installed', state: 'provisioned' },
    { type: 'install-failed', exitCode: 256 },
    { type: 'install-failed', exitCode: 'x' },
    { type: 'install-failed', reason: 'bell\u0007' },
    { type: 'handoff' },
    { type: 'handoff', method: 'teleport' },
    { type: 'handoff', method: 'kexec', extra: 1 },
    { type: 'progress', nested: { a: 1 } },
    { type: 'progress', list: [1] },
    { type: 'progress', Phase: 'write' },
    { type: 'progress', note: 'x'.repeat(257) },
    { type: 'progress', ...Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`f${i}`, i])) },
    { type: 'first-boot', ignitionSha256: 'zz' },
    { type: 'progress', bytes: -1 },
    { type: 'handoff', method: 'pxe' },
    { type: 'handoff', method: 'reboot' },
    { type: 'handoff', method: 'kexec', reason: 'profile' },
    { type: 'handoff', method: 'reboot', reason: 'because' },
    { type: 'handoff', method: 'reboot', reason: 'profile: line\nbreak' },
    { type: 'handoff', method: 'reboot', reason: `profile: ${'x'.repeat(401)}` },
  ]) {
    assert.throws(
      () => parseReport(body),
      (e: unknown) => e instanceof InvalidRequestError,
      JSON.stringify(body),
    );
  }
});

test.run();
