import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EventType, MachineEvent } from './state.ts';
import { timeline } from './timeline.ts';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString();
const ev = (type: EventType, s: number, data: MachineEvent['data'] = {}): MachineEvent => ({
  type,
  source: 'http',
  at: at(s),
  data,
});

test('phases of a full provisioning', () => {
  const spans = timeline([
    ev('install-script-served', 0),
    ev('kernel-fetched', 3, { bytes: 1, durationMs: 2000 }),
    ev('initrd-fetched', 10, { bytes: 1, durationMs: 7000 }),
    ev('installer-fetched', 11, { bytes: 1, durationMs: 10 }),
    ev('install-started', 40),
    ev('installed', 100),
    ev('disk-boot-script-served', 130),
    ev('first-boot', 160),
  ]);
  assert.equal(
    spans.map((s) => [s.phase, s.seconds]),
    [
      ['script', 1],
      ['download', 10],
      ['installer', 29],
      ['install', 60],
      ['reboot', 30],
      ['disk-boot', 30],
    ],
  );
});

test('a phase in progress has no end; only the latest attempt counts', () => {
  const spans = timeline([
    ev('install-script-served', 0),
    ev('install-started', 5),
    ev('install-failed', 9, { exitCode: 1 }),
    ev('install-script-served', 20),
    ev('kernel-fetched', 21),
    ev('install-started', 30),
  ]);
  assert.equal(
    spans.map((s) => s.phase),
    ['script', 'download', 'installer', 'install'],
  );
  assert.is(spans[0]?.start, at(20));
  assert.equal(spans.at(-1), { phase: 'install', start: at(30), end: null, seconds: null });
});

test('a kexec hand-off: no reboot phase; the installed system boots from the hand-off on', () => {
  const spans = timeline([
    ev('install-script-served', 0),
    ev('kernel-fetched', 3, { bytes: 1, durationMs: 2000 }),
    ev('install-started', 40),
    ev('installed', 100),
    ev('handoff', 101.5, { method: 'kexec' }),
    ev('first-boot', 112),
  ]);
  assert.equal(
    spans.map((s) => [s.phase, s.seconds]),
    [
      ['script', 1],
      ['download', 2],
      ['installer', 37],
      ['install', 60],
      ['handoff', 1.5],
      ['disk-boot', 10.5],
    ],
  );
});

test('a reboot hand-off: the reboot phase starts at the hand-off', () => {
  const spans = timeline([
    ev('install-script-served', 0),
    ev('install-started', 10),
    ev('installed', 20),
    ev('handoff', 21, { method: 'reboot', reason: 'kexec-load-disabled' }),
    ev('disk-boot-script-served', 40),
    ev('first-boot', 55),
  ]);
  assert.equal(
    spans.slice(-3).map((s) => [s.phase, s.seconds]),
    [
      ['handoff', 1],
      ['reboot', 19],
      ['disk-boot', 15],
    ],
  );
});

test('no events: no phases', () => {
  assert.equal(timeline([]), []);
});

test.run();
