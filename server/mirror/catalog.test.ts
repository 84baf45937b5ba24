import assert from 'node:assert/strict';
import { test } from 'uvu';
import { MirrorCatalog } from './catalog.ts';
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

test('an empty mirror lists nothing and says so', async () => {
  const catalog = new MirrorCatalog('/nonexistent/railyard/mirror');
  const listing = await catalog.list();
  assert.deepEqual(listing.boards, []);
  assert.match(formatStatus(listing, 1000), /nothing mirrored yet\nlast refresh: never/);
});

test.run();
