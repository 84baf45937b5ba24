import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { captureLog } from '../testing/log-capture.ts';
import { memoryStore } from './fakes.ts';
import { observeStore } from './observed.ts';

const capture = () => captureLog();

test('one log line per recorded event, with the MAC, event and resulting state', async () => {
  const { log, lines } = capture();
  const store = observeStore(memoryStore(), log);
  await store.recordEvent(canonicalMac('52:54:00:00:00:01'), {
    type: 'install-script-served',
    source: 'http',
  });
  await store.recordEvent(canonicalMac('52:54:00:00:00:01'), {
    type: 'install-failed',
    source: 'installer',
    data: { exitCode: 3, output: 'secret-ish long output' },
  });
  await new Promise((r) => setImmediate(r));
  assert.is(lines.length, 2);
  assert.is(lines[0]?.['mac'], '52:54:00:00:00:01');
  assert.is(lines[0]?.['event'], 'install-script-served');
  assert.is(lines[0]?.['state'], 'installing');
  assert.is(lines[1]?.['state'], 'failed');
  assert.is(lines[1]?.['exitCode'], 3);
  assert.is(lines[1]?.['output'], undefined);
});

test('listeners run after the write; a failing listener does not fail it', async () => {
  const { log, lines } = capture();
  const seen: string[] = [];
  const store = observeStore(memoryStore(), log, [
    () => {
      throw new Error('boom');
    },
    async (r) => {
      seen.push(`${r.event.type}:${r.machine.state}`);
    },
  ]);
  const recorded = await store.recordEvent(canonicalMac('52:54:00:00:00:02'), {
    type: 'first-boot',
    source: 'node',
  });
  assert.is(recorded.machine.state, 'provisioned');
  assert.equal(seen, ['first-boot:provisioned']);
  await new Promise((r) => setImmediate(r));
  assert.ok(lines.some((l) => l['msg'] === 'event listener failed' && l['err'] === 'boom'));
  assert.is((await store.getMachine(canonicalMac('52:54:00:00:00:02')))?.state, 'provisioned');
});

test.run();
