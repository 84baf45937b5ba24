import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { groupSchema, profileSchema } from '../machines/model.ts';
import { inWindow, windowSchema } from '../machines/window.ts';
import { type EligibilityInput, effectivePolicy, eligibility, type UpdatePolicy } from './policy.ts';
import { compareVersions, parseVersion } from './versions.ts';

const profile = profileSchema.parse({
  id: 'workers',
  channel: 'stable',
  updates: { version: '4230.2.3', maxConcurrent: 3 },
});
const policy = effectivePolicy(
  profile,
  groupSchema.parse({ id: 'rack1', profile: 'workers' }),
) as UpdatePolicy;

function check(over: Partial<EligibilityInput> = {}) {
  return eligibility({
    policy,
    track: 'stable',
    board: 'amd64-usr',
    running: '4230.2.2',
    target: '4230.2.3',
    payload: true,
    pausedByAdmin: false,
    now: new Date('2026-03-04T03:00:00Z'),
    ...over,
  });
}

test('profile updates: defaults, channel from the profile, group overrides the rollout only', () => {
  const plain = profileSchema.parse({ id: 'p', channel: 'beta', board: 'arm64-usr', updates: {} });
  const group = groupSchema.parse({ id: 'g', profile: 'p', updates: { maxConcurrent: 5, paused: true } });
  assert.equal(effectivePolicy(plain, group), {
    group: 'g',
    profile: 'p',
    server: 'railyard',
    channel: 'beta',
    board: 'arm64-usr',
    version: 'current',
    maxConcurrent: 5,
    window: undefined,
    paused: true,
  });
  assert.is(effectivePolicy(profileSchema.parse({ id: 'q' }), group), undefined, 'no updates key: none');
  assert.throws(() => groupSchema.parse({ id: 'g', profile: 'p', updates: { server: 'public' } }));
  assert.throws(
    () => profileSchema.parse({ id: 'p', updates: { version: 'latest' } }),
    /current-YYYY or X.Y.Z/,
  );
  assert.throws(() => profileSchema.parse({ id: 'p', updates: { maxConcurrent: 0 } }));
});

test('pinning: the pinned version is offered to older machines only', () => {
  assert.equal(check(), { offer: true });
  assert.equal(check({ running: '4230.2.3' }), { offer: false, reason: 'up-to-date' });
});

test('never a downgrade: a machine running something newer is left alone', () => {
  assert.equal(check({ running: '4230.2.4' }), { offer: false, reason: 'newer-running' });
  assert.equal(check({ running: '4459.0.0' }), { offer: false, reason: 'newer-running' });
  assert.equal(check({ running: '4230.10.0', target: '4230.9.9' }), {
    offer: false,
    reason: 'newer-running',
  });
  assert.equal(check({ running: 'Chateau' }), { offer: false, reason: 'bad-version' });
});

test('pause (files or admin), window, payload, track, server', () => {
  assert.equal(check({ pausedByAdmin: true }), { offer: false, reason: 'paused' });
  assert.equal(check({ policy: { ...policy, paused: true } }), { offer: false, reason: 'paused' });
  const window = windowSchema.parse({ start: '01:00', end: '02:00' });
  assert.equal(check({ policy: { ...policy, window } }), { offer: false, reason: 'outside-window' });
  assert.equal(check({ payload: false }), { offer: false, reason: 'no-payload' });
  assert.equal(check({ target: undefined }), { offer: false, reason: 'not-mirrored' });
  assert.equal(check({ track: 'beta' }), { offer: false, reason: 'track-mismatch' });
  assert.equal(check({ board: 'arm64-usr' }), { offer: false, reason: 'board-mismatch' });
  assert.equal(check({ policy: { ...policy, server: 'public' } }), {
    offer: false,
    reason: 'not-served-here',
  });
  assert.equal(check({ policy: undefined }), { offer: false, reason: 'no-policy' });
});

test('versions compare numerically, suffixes ignored', () => {
  assert.ok(compareVersions('4230.10.0', '4230.9.0') > 0);
  assert.is(compareVersions('3510.2.6+dev', '3510.2.6'), 0);
  assert.is(parseVersion('3510.2'), undefined);
  assert.is(parseVersion('1.2.3; rm -rf'), undefined);
});

test('windows: same day, past midnight, days, time zones', () => {
  const night = windowSchema.parse({ start: '22:00', end: '04:00', days: ['sat'] });
  assert.ok(inWindow(night, new Date('2026-03-07T23:00:00Z')), 'Saturday 23:00');
  assert.ok(inWindow(night, new Date('2026-03-08T03:59:00Z')), 'Sunday 03:59 belongs to Saturday');
  assert.not.ok(inWindow(night, new Date('2026-03-08T04:00:00Z')), 'end is exclusive');
  assert.not.ok(inWindow(night, new Date('2026-03-08T23:00:00Z')), 'Sunday evening');
  const berlin = windowSchema.parse({ start: '02:00', end: '03:00', timezone: 'Europe/Berlin' });
  assert.ok(inWindow(berlin, new Date('2026-01-10T01:30:00Z')), 'CET = UTC+1');
  assert.not.ok(inWindow(berlin, new Date('2026-01-10T02:30:00Z')));
  assert.throws(() => windowSchema.parse({ start: '02:00', end: '03:00', timezone: 'Mars/Olympus' }));
  assert.throws(() => windowSchema.parse({ start: '2:00', end: '03:00' }), /HH:MM/);
});

test('windows: UTC (answered without Intl) agrees with Etc/UTC (through Intl) all week', () => {
  for (const [start, end] of [
    ['22:00', '04:00'],
    ['02:00', '03:30'],
  ] as const) {
    const utc = windowSchema.parse({ start, end, days: ['mon', 'sat'] });
    const etc = windowSchema.parse({ start, end, days: ['mon', 'sat'], timezone: 'Etc/UTC' });
    assert.is(utc.timezone, 'UTC');
    for (
      let t = Date.parse('2026-03-01T00:00:00Z');
      t < Date.parse('2026-03-08T00:00:00Z');
      t += 7 * 60_000
    ) {
      const at = new Date(t);
      assert.is(inWindow(utc, at), inWindow(etc, at), `${start}-${end} at ${at.toISOString()}`);
    }
  }
});

test.run();
