// openStateStore: state.db and its WAL files are owner-only, whatever the umask, and a
// database left readable by an older railyard is tightened.
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { tempDir } from '../testing/fixtures.ts';
import { openStateStore } from './open.ts';

const mode = (f: string) => (statSync(f).mode & 0o777).toString(8);

test('state.db, state.db-wal and state.db-shm are 0600 under umask 022', async () => {
  const tmp = tempDir('railyard-open-');
  const old = process.umask(0o022);
  try {
    const path = join(tmp.dir, 'var', 'state.db');
    const store = await openStateStore({ driver: 'sqlite', path });
    await store.recordEvent(canonicalMac('52:54:00:00:00:01'), {
      type: 'install-script-served',
      source: 'http',
    });
    for (const f of [path, `${path}-wal`, `${path}-shm`]) assert.is(mode(f), '600', f);
    await store.close();
  } finally {
    process.umask(old);
    tmp.cleanup();
  }
});

test('a world-readable state.db from before is tightened on open', async () => {
  const tmp = tempDir('railyard-open-');
  const path = join(tmp.dir, 'state.db');
  writeFileSync(path, '');
  chmodSync(path, 0o644);
  const store = await openStateStore({ driver: 'sqlite', path });
  assert.is(mode(path), '600');
  await store.close();
  tmp.cleanup();
});

test.run();
