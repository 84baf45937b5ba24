import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import { silentLogger } from '../log.ts';
import { emptyTrash, pruneStaging, STALE_STAGING_MS } from './housekeeping.ts';
import { MirrorLayout } from './layout.ts';

test('abandoned partial downloads are dropped after a day idle; wanted or fresh ones stay', async () => {
  const root = mkdtempSync(join(tmpdir(), 'railyard-hk-'));
  try {
    const layout = new MirrorLayout(root);
    const old = Date.now() / 1000 - (STALE_STAGING_MS / 1000) * 2;
    for (const v of ['1.0.0', '2.0.0', '3.0.0']) {
      const dir = layout.stagingDir('stable', 'amd64-usr', v);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'part'), 'x');
      if (v !== '3.0.0') {
        utimesSync(join(dir, 'part'), old, old);
        utimesSync(dir, old, old);
      }
    }
    const pruned = await pruneStaging(layout, 'stable', 'amd64-usr', new Set(['2.0.0']), silentLogger());
    assert.deepEqual(pruned, ['1.0.0']);
    assert.ok(existsSync(layout.stagingDir('stable', 'amd64-usr', '2.0.0')));
    assert.ok(existsSync(layout.stagingDir('stable', 'amd64-usr', '3.0.0')));
    mkdirSync(join(layout.trashDir, 'x'), { recursive: true });
    await emptyTrash(layout);
    assert.ok(!existsSync(layout.trashDir));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
