import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { memoryStore } from './fakes.ts';
import { newAttempt } from './fixtures/attempt.ts';
import { versionsInstalling } from './queries.ts';

test('versionsInstalling names the releases of open attempts not yet installed', async () => {
  const store = memoryStore();
  const open = (mac: string, version: string, channel = 'stable') =>
    store.openAttempt(canonicalMac(mac), newAttempt({ version, channel }), {
      type: 'install-script-served',
      source: 'http',
    });
  await open('52:54:00:00:00:01', '9999.0.0');
  const installed = await open('52:54:00:00:00:02', '9999.1.0');
  await store.recordReport(
    installed.attempt.id,
    { type: 'installed', source: 'installer' },
    () => 'installed',
  );
  await open('52:54:00:00:00:03', '8888.0.0', 'beta');
  const superseded = await open('52:54:00:00:00:04', '7777.0.0');
  await open('52:54:00:00:00:04', '9999.0.0');
  assert.is((await store.getAttempt(superseded.attempt.id))?.state, 'superseded');
  const inUse = versionsInstalling(store);
  assert.equal(await inUse('stable', 'amd64-usr'), ['9999.0.0']);
  assert.equal(await inUse('beta', 'amd64-usr'), ['8888.0.0']);
  assert.equal(await inUse('alpha', 'amd64-usr'), []);
});

test.run();
