import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryStore } from './fakes.ts';
import { versionsInstalling } from './queries.ts';

test('versionsInstalling names the releases machines are installing right now', async () => {
  const store = memoryStore();
  const served = (version: string, channel = 'stable') => ({
    type: 'install-script-served' as const,
    source: 'http' as const,
    data: { version, channel, board: 'amd64-usr' },
  });
  await store.recordEvent('52:54:00:00:00:01', served('9999.0.0'));
  await store.recordEvent('52:54:00:00:00:02', served('9999.1.0'));
  await store.recordEvent('52:54:00:00:00:02', { type: 'installed', source: 'installer' });
  await store.recordEvent('52:54:00:00:00:03', served('8888.0.0', 'beta'));
  const inUse = versionsInstalling(store);
  assert.equal(await inUse('stable', 'amd64-usr'), ['9999.0.0']);
  assert.equal(await inUse('beta', 'amd64-usr'), ['8888.0.0']);
  assert.equal(await inUse('alpha', 'amd64-usr'), []);
});

test.run();
