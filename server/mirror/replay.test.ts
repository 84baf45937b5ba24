// Replays and downgrades from a lying upstream, against the fake release server: old signed
// files under a new version number (with an unsigned version.txt that names it) are
// refused, also after the old version was pruned, and `current` never moves down; each
// only with its explicit flag.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import { buildRelease, setLink, versionTxt } from './testing/fake-upstream.ts';
import { createHarness, type Harness } from './testing/harness.ts';

const BOARD = 'stable/amd64-usr';

async function withHarness(fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await createHarness();
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

/** Upstream serves `from`'s signed files as `as`, with a fresh unsigned version.txt naming `as`. */
function replay(h: Harness, from: string, as: string): void {
  const src = join(h.upstreamRoot, BOARD, from);
  const dst = join(h.upstreamRoot, BOARD, as);
  cpSync(src, dst, { recursive: true });
  for (const f of readdirSync(dst).filter((n) => n.startsWith('version.txt'))) rmSync(join(dst, f));
  writeFileSync(join(dst, 'version.txt'), versionTxt(as));
  setLink(h.upstreamRoot, as);
}

test('a replayed release (old signed files under a new version) is refused; --allow-duplicate-release lets it in', () =>
  withHarness(async (h) => {
    await buildRelease(h.upstreamRoot, h.key, '100.0.0');
    setLink(h.upstreamRoot, '100.0.0');
    assert.equal((await h.refresh()).ok, true);
    replay(h, '100.0.0', '200.0.0');
    const r = await h.refresh();
    assert.equal(r.ok, false);
    assert.match(
      r.versions[0]?.reason ?? '',
      /200\.0\.0: its signed files are byte-identical to stable\/amd64-usr 100\.0\.0/,
    );
    assert.match(r.versions[0]?.reason ?? '', /--allow-duplicate-release/);
    assert.equal(readlinkSync(h.mirrorPath(BOARD, 'current')), '100.0.0');
    assert.equal(existsSync(h.mirrorPath(BOARD, '200.0.0')), false, 'never published');
    const allowed = await h.refresh({}, { allowDuplicateRelease: true });
    assert.equal(allowed.ok, true, allowed.error);
    assert.equal(readlinkSync(h.mirrorPath(BOARD, 'current')), '200.0.0');
  }));

test('the replay of a version retention has pruned is still refused (the ledger remembers)', () =>
  withHarness(async (h) => {
    const keep1 = { releases: [{ channel: 'stable', board: 'amd64-usr', versions: ['current'], keep: 1 }] };
    for (const v of ['100.0.0', '101.0.0']) {
      await buildRelease(h.upstreamRoot, h.key, v);
      setLink(h.upstreamRoot, v);
      assert.equal((await h.refresh({}, keep1)).ok, true);
    }
    assert.equal(existsSync(h.mirrorPath(BOARD, '100.0.0')), false, 'pruned');
    replay(h, '100.0.0', '102.0.0');
    const r = await h.refresh({}, keep1);
    assert.equal(r.ok, false);
    assert.match(r.versions[0]?.reason ?? '', /byte-identical to stable\/amd64-usr 100\.0\.0/);
    assert.equal(readlinkSync(h.mirrorPath(BOARD, 'current')), '101.0.0');
  }));

test('current never moves to a lower version unless --allow-downgrade', () =>
  withHarness(async (h) => {
    for (const v of ['100.0.0', '100.1.0']) await buildRelease(h.upstreamRoot, h.key, v);
    setLink(h.upstreamRoot, '100.1.0');
    assert.equal((await h.refresh()).ok, true);
    setLink(h.upstreamRoot, '100.0.0'); // an old current/version.txt
    const r = await h.refresh();
    assert.equal(r.ok, false);
    assert.match(
      r.versions[0]?.reason ?? '',
      /current points at 100\.1\.0; upstream now names the lower 100\.0\.0/,
    );
    assert.equal(readlinkSync(h.mirrorPath(BOARD, 'current')), '100.1.0');
    assert.equal(existsSync(h.mirrorPath(BOARD, '100.0.0')), false, 'nothing downloaded');
    const allowed = await h.refresh({}, { allowDowngrade: true });
    assert.equal(allowed.ok, true, allowed.error);
    assert.equal(readlinkSync(h.mirrorPath(BOARD, 'current')), '100.0.0');
  }));

test('a version.txt that names another version than its directory is refused', () =>
  withHarness(async (h) => {
    await buildRelease(h.upstreamRoot, h.key, '100.0.0');
    replay(h, '100.0.0', '300.0.0');
    writeFileSync(join(h.upstreamRoot, BOARD, '300.0.0', 'version.txt'), versionTxt('100.0.0'));
    setLink(h.upstreamRoot, '300.0.0');
    const r = await h.refresh(
      {},
      { releases: [{ channel: 'stable', board: 'amd64-usr', versions: ['300.0.0'] }] },
    );
    assert.equal(r.ok, false);
    assert.match(
      r.versions[0]?.reason ?? '',
      /version\.txt: FLATCAR_VERSION is 100\.0\.0, expected 300\.0\.0/,
    );
  }));

test.run();
