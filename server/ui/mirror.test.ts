import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MirrorCatalog } from '../mirror/catalog.ts';
import { publishRelease, tempDir } from '../testing/fixtures.ts';
import { mirrorModel } from './mirror-model.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const DAY = 86_400_000;

test('the mirror catalog listing fits the dashboard seam: boards, versions, sizes, links', async () => {
  const { dir, cleanup } = tempDir();
  try {
    publishRelease(dir, 'stable', 'amd64-usr', '9998.0.0');
    publishRelease(dir, 'stable', 'amd64-usr', '10000.1.0');
    symlinkSync('9998.0.0', join(dir, 'stable/amd64-usr/current-2025'));
    mkdirSync(join(dir, 'stable/amd64-usr/.staging-x'), { recursive: true });
    const listing = await new MirrorCatalog(dir).list();
    assert.is(listing.boards.length, 1);
    const board = listing.boards[0]!;
    assert.equal(
      board.versions.map((v) => v.version),
      ['10000.1.0', '9998.0.0'],
    );
    assert.is(board.versions[0]?.files, 3);
    assert.is(board.versions[0]?.bytes, 4096 + 8192 + 'FLATCAR_VERSION=10000.1.0\n'.length);
    assert.equal(board.links, { current: '10000.1.0', 'current-2025': '9998.0.0' });
    assert.equal(listing.status, {});
  } finally {
    cleanup();
  }
});

test('the refresh status file: ok, failed, stale', async () => {
  const { dir, cleanup } = tempDir();
  try {
    publishRelease(dir);
    const write = (status: unknown) => writeFileSync(join(dir, '.status.json'), JSON.stringify(status));
    const ok = { finishedAt: new Date(NOW - 3600_000).toISOString(), ok: true, bytes: 1 << 30, seconds: 95 };
    write({ lastRefresh: ok, lastSuccess: ok.finishedAt });
    let model = mirrorModel(await new MirrorCatalog(dir).list(), 2 * DAY, NOW);
    assert.is(model.warning, undefined);
    assert.match(model.lastRefresh, 'ok, 1.00 GiB in 1 m 35 s');
    assert.is(model.boards[0]?.current, '9999.0.0');
    assert.is(model.boards[0]?.versions[0]?.links, 'current');

    write({ lastRefresh: { ...ok, ok: false, error: 'upstream 503' }, lastSuccess: ok.finishedAt });
    model = mirrorModel(await new MirrorCatalog(dir).list(), 2 * DAY, NOW);
    assert.match(model.warning ?? '', 'The last mirror refresh failed: upstream 503');

    const old = new Date(NOW - 3 * DAY).toISOString();
    write({ lastRefresh: { ...ok, finishedAt: old }, lastSuccess: old });
    model = mirrorModel(await new MirrorCatalog(dir).list(), 2 * DAY, NOW);
    assert.match(model.warning ?? '', 'stale: no successful refresh in the last 48 h 0 m');
  } finally {
    cleanup();
  }
});

test('never refreshed, nothing mirrored', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = mirrorModel(await new MirrorCatalog(dir).list(), DAY, NOW);
    assert.ok(model.empty);
    assert.is(model.lastRefresh, 'never');
    assert.match(model.warning ?? '', 'never been refreshed');
  } finally {
    cleanup();
  }
});

test.run();
