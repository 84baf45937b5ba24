import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import { MirrorCatalog } from './catalog.ts';
import { removeDir, switchLink } from './publish.ts';
import { formatStatus } from './report.ts';
import { buildRelease, setLink } from './testing/fake-upstream.ts';
import { createHarness } from './testing/harness.ts';

test('catalog resolves current, current-YYYY and pinned versions; lists what is mirrored', async () => {
  const h = await createHarness();
  try {
    await buildRelease(h.upstreamRoot, h.key, '100.0.0', { channel: 'lts' });
    await buildRelease(h.upstreamRoot, h.key, '90.3.0', { channel: 'lts' });
    setLink(h.upstreamRoot, '100.0.0', 'current', 'lts');
    setLink(h.upstreamRoot, '90.3.0', 'current-2024', 'lts');
    const releases = [{ channel: 'lts', board: 'amd64-usr', versions: ['current', 'current-2024'] }];
    const r = await h.refresh({}, { releases });
    assert.equal(r.ok, true, r.error);

    const catalog = new MirrorCatalog(h.mirrorPath());
    assert.equal(await catalog.resolveVersion('lts', 'amd64-usr', 'current'), '100.0.0');
    assert.equal(await catalog.resolveVersion('lts', 'amd64-usr', 'current-2024'), '90.3.0');
    assert.equal(await catalog.resolveVersion('lts', 'amd64-usr', '90.3.0'), '90.3.0');
    assert.equal(await catalog.resolveVersion('lts', 'amd64-usr', '1.2.3'), undefined);
    assert.equal(await catalog.resolveVersion('lts', 'amd64-usr', 'current-2023'), undefined);
    assert.equal(await catalog.resolveVersion('stable', 'amd64-usr', 'current'), undefined);

    const listing = await catalog.list();
    assert.equal(listing.boards.length, 1);
    const board = listing.boards[0];
    assert.deepEqual(board?.links, { current: '100.0.0', 'current-2024': '90.3.0' });
    assert.deepEqual(
      board?.versions.map((v) => [v.version, v.files]),
      [
        ['100.0.0', 16],
        ['90.3.0', 16],
      ],
    );
    assert.ok(board?.versions.every((v) => v.bytes > 600_000 && v.verifiedAt));
    assert.equal(listing.status.lastRefresh?.ok, true);
    const text = formatStatus(listing, 86_400_000);
    assert.match(text, /lts\/amd64-usr\n {2}100\.0\.0 .* <- current\n {2}90\.3\.0 .* <- current-2024/);
    assert.doesNotMatch(text, /STALE/);
  } finally {
    await h.close();
  }
});

test('resolveVersion keeps a settled board listing until the board directory changes', async () => {
  const root = mkdtempSync(join(tmpdir(), 'railyard-catalog-'));
  try {
    const board = join(root, 'stable', 'amd64-usr');
    for (const v of ['1.0.0', '2.0.0']) mkdirSync(join(board, v), { recursive: true });
    await switchLink(board, 'current', '1.0.0');
    const catalog = new MirrorCatalog(root);
    const settle = () => utimesSync(board, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const backdate = (mtime: Date) => utimesSync(board, mtime, mtime);

    // Just changed (mtime this second): read every time, never kept.
    assert.equal(await catalog.resolveVersion('stable', 'amd64-usr', 'current'), '1.0.0');
    await switchLink(board, 'current', '2.0.0');
    assert.equal(await catalog.resolveVersion('stable', 'amd64-usr', 'current'), '2.0.0');

    // Settled: kept. A change behind an unchanged mtime is not seen (so the cache is used)...
    settle();
    const settled = statSync(board).mtime;
    assert.equal(await catalog.resolveVersion('stable', 'amd64-usr', 'current'), '2.0.0');
    await switchLink(board, 'current', '1.0.0');
    backdate(settled);
    assert.equal(await catalog.resolveVersion('stable', 'amd64-usr', 'current'), '2.0.0');
    // ...every real change moves the mtime: a link switch, a removed version, a new one.
    await switchLink(board, 'current', '2.0.0');
    await switchLink(board, 'current', '1.0.0');
    assert.equal(await catalog.resolveVersion('stable', 'amd64-usr', 'current'), '1.0.0');
    settle();
    assert.equal(await catalog.resolveVersion('stable', 'amd64-usr', '2.0.0'), '2.0.0');
    await removeDir(join(board, '2.0.0'), join(root, '.trash'));
    assert.equal(await catalog.resolveVersion('stable', 'amd64-usr', '2.0.0'), undefined);
    settle();
    assert.equal(await catalog.resolveVersion('stable', 'amd64-usr', '3.0.0'), undefined);
    mkdirSync(join(board, '3.0.0'));
    assert.equal(await catalog.resolveVersion('stable', 'amd64-usr', '3.0.0'), '3.0.0');
    // A board that is gone resolves nothing.
    rmSync(board, { recursive: true });
    assert.equal(await catalog.resolveVersion('stable', 'amd64-usr', 'current'), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an empty mirror lists nothing and says so', async () => {
  const catalog = new MirrorCatalog('/nonexistent/railyard/mirror');
  const listing = await catalog.list();
  assert.deepEqual(listing.boards, []);
  assert.match(formatStatus(listing, 1000), /nothing mirrored yet\nlast refresh: never/);
});

test.run();
