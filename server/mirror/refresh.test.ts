import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import { DEFAULT_FILES } from './layout.ts';
import { buildRelease, setLink } from './testing/fake-upstream.ts';
import { createHarness, type Harness } from './testing/harness.ts';

const BASE = '/stable/amd64-usr';
const IMAGE = 'flatcar_production_image.bin.bz2';

async function withHarness(fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await createHarness();
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

async function publish(h: Harness, version: string, link = 'current') {
  await buildRelease(h.upstreamRoot, h.key, version);
  setLink(h.upstreamRoot, version, link);
}

test('first sync publishes every verified file and points current at the version', () =>
  withHarness(async (h) => {
    await publish(h, '100.0.0');
    const r = await h.refresh();
    assert.equal(r.ok, true, r.error);
    assert.equal(r.versions.length, 1);
    assert.deepEqual(
      { ...r.versions[0], seconds: 0 },
      {
        channel: 'stable',
        board: 'amd64-usr',
        specs: ['current'],
        version: '100.0.0',
        status: 'new',
        bytes: r.bytes,
        seconds: 0,
      },
    );
    for (const f of DEFAULT_FILES) {
      for (const suffix of ['', '.sig', '.DIGESTS', '.DIGESTS.asc']) {
        const got = readFileSync(h.mirrorPath('stable/amd64-usr/100.0.0', f + suffix));
        assert.ok(
          got.equals(readFileSync(join(h.upstreamRoot, 'stable/amd64-usr/100.0.0', f + suffix))),
          f + suffix,
        );
      }
    }
    assert.equal(readlinkSync(h.mirrorPath('stable/amd64-usr/current')), '100.0.0');
    assert.ok(existsSync(h.mirrorPath('stable/amd64-usr/100.0.0/.verified.json')));
    assert.deepEqual(readdirSync(h.mirrorPath('.staging/stable/amd64-usr')), []);
    assert.ok(r.bytes > 3 * 200_000);
  }));

test('no-op refresh downloads only current/version.txt', () =>
  withHarness(async (h) => {
    await publish(h, '100.0.0');
    assert.equal((await h.refresh()).ok, true);
    const before = h.upstream.requests.length;
    const t0 = performance.now();
    const r = await h.refresh();
    const ms = performance.now() - t0;
    console.log(`    no-op refresh took ${ms.toFixed(0)} ms`);
    assert.equal(r.ok, true);
    assert.equal(r.versions[0]?.status, 'unchanged');
    assert.equal(r.bytes, 0);
    assert.deepEqual(
      h.upstream.requests.slice(before).map((q) => q.path),
      [`${BASE}/current/version.txt`],
    );
  }));

test('a new current is fetched, the link switched, the old version kept', () =>
  withHarness(async (h) => {
    await publish(h, '100.0.0');
    await h.refresh();
    await publish(h, '101.0.0');
    const r = await h.refresh();
    assert.equal(r.versions[0]?.status, 'new');
    assert.equal(r.versions[0]?.version, '101.0.0');
    assert.equal(readlinkSync(h.mirrorPath('stable/amd64-usr/current')), '101.0.0');
    assert.ok(existsSync(h.mirrorPath('stable/amd64-usr/100.0.0', IMAGE)));
  }));

test('a pinned version is fetched without version.txt lookups and survives retention', () =>
  withHarness(async (h) => {
    await buildRelease(h.upstreamRoot, h.key, '90.1.2');
    await publish(h, '100.0.0');
    const mirror = {
      releases: [{ channel: 'stable', board: 'amd64-usr', versions: ['current', '90.1.2'], keep: 1 }],
    };
    let r = await h.refresh({}, mirror);
    assert.equal(r.ok, true, r.error);
    assert.deepEqual(
      r.versions.map((v) => [v.version, v.status]),
      [
        ['100.0.0', 'new'],
        ['90.1.2', 'new'],
      ],
    );
    await publish(h, '101.0.0');
    r = await h.refresh({}, mirror);
    assert.deepEqual(r.removed, ['stable/amd64-usr/100.0.0']);
    assert.ok(existsSync(h.mirrorPath('stable/amd64-usr/90.1.2', IMAGE)));
    assert.ok(!existsSync(h.mirrorPath('stable/amd64-usr/100.0.0')));
    assert.equal(h.upstream.gets('/90.1.2/version.txt').length, 1);
    await publish(h, '102.0.0');
    r = await h.refresh({ filter: { versions: ['current'] } }, mirror);
    assert.deepEqual(r.removed, ['stable/amd64-usr/101.0.0']);
    assert.ok(
      existsSync(h.mirrorPath('stable/amd64-usr/90.1.2', IMAGE)),
      'config pin survives a --version run',
    );
  }));

test('retention keeps the newest N, the current target and versions in use', () =>
  withHarness(async (h) => {
    const mirror = { releases: [{ channel: 'stable', board: 'amd64-usr', versions: ['current'], keep: 2 }] };
    const inUse = () => ['100.0.0'];
    for (const v of ['100.0.0', '100.1.0', '100.2.0', '100.10.0']) {
      await publish(h, v);
      assert.equal((await h.refresh({ inUse }, mirror)).ok, true);
    }
    const left = readdirSync(h.mirrorPath('stable/amd64-usr')).sort();
    assert.deepEqual(left, ['100.0.0', '100.10.0', '100.2.0', 'current']);
    assert.equal(readlinkSync(h.mirrorPath('stable/amd64-usr/current')), '100.10.0');
  }));

test('retention never deletes the version current points to (upstream rolled back)', () =>
  withHarness(async (h) => {
    const mirror = { releases: [{ channel: 'stable', board: 'amd64-usr', versions: ['current'], keep: 1 }] };
    await publish(h, '100.0.0');
    await h.refresh({}, mirror);
    await publish(h, '101.0.0');
    await h.refresh({}, mirror);
    assert.ok(!existsSync(h.mirrorPath('stable/amd64-usr/100.0.0')));
    await publish(h, '100.0.0');
    // Moving current down needs the explicit flag (replay.test.ts); with it, retention still
    // keeps what current points to.
    const r = await h.refresh({}, { ...mirror, allowDowngrade: true });
    assert.equal(r.versions[0]?.status, 'new');
    assert.deepEqual(r.removed, []);
    assert.equal(readlinkSync(h.mirrorPath('stable/amd64-usr/current')), '100.0.0');
    assert.ok(existsSync(h.mirrorPath('stable/amd64-usr/101.0.0')), 'newest kept');
  }));

test('upstream 500 then success is retried', () =>
  withHarness(async (h) => {
    await publish(h, '100.0.0');
    h.upstream.fault(`${BASE}/100.0.0/flatcar_production_pxe.vmlinuz`, { status: 500, times: 2 });
    const r = await h.refresh();
    assert.equal(r.ok, true, r.error);
    assert.equal(h.upstream.gets('/100.0.0/flatcar_production_pxe.vmlinuz').length, 3);
  }));

test('persistent 500 fails after bounded retries; previous mirror intact', () =>
  withHarness(async (h) => {
    await publish(h, '100.0.0');
    await h.refresh();
    await publish(h, '101.0.0');
    h.upstream.fault(`${BASE}/101.0.0/${IMAGE}`, { status: 503, times: 100 });
    const r = await h.refresh();
    assert.equal(r.ok, false);
    assert.match(
      r.versions[0]?.reason ?? '',
      /101\.0\.0\/flatcar_production_image\.bin\.bz2: upstream answered 503/,
    );
    assert.equal(h.upstream.gets(`/101.0.0/${IMAGE}`).length, 3);
    assert.equal(readlinkSync(h.mirrorPath('stable/amd64-usr/current')), '100.0.0');
    assert.ok(!existsSync(h.mirrorPath('stable/amd64-usr/101.0.0')));
  }));

test('an upstream that stalls times out, is retried from where it stalled, then fails', () =>
  withHarness(async (h) => {
    await publish(h, '100.0.0');
    h.upstream.fault(`${BASE}/100.0.0/${IMAGE}`, { slowMs: 1000, times: 2 });
    const r = await h.refresh({}, { timeout: '200ms', retries: 1 });
    assert.equal(r.ok, false);
    assert.match(r.versions[0]?.reason ?? '', /flatcar_production_image\.bin\.bz2: no response for 200 ms/);
    assert.deepEqual(
      h.upstream.gets(`/100.0.0/${IMAGE}`).map((g) => g.range),
      [undefined, 'bytes=16384-'],
    );
  }));

test('404 on a required file fails with the URL named', () =>
  withHarness(async (h) => {
    await publish(h, '100.0.0');
    h.upstream.fault(`${BASE}/100.0.0/flatcar_production_pxe_image.cpio.gz`, { status: 404 });
    const r = await h.refresh();
    assert.equal(r.ok, false);
    assert.match(r.versions[0]?.reason ?? '', /cpio\.gz: upstream answered 404/);
    assert.ok(!existsSync(h.mirrorPath('stable/amd64-usr/100.0.0')));
    assert.ok(!existsSync(h.mirrorPath('stable/amd64-usr/current')));
  }));

test('a truncated download is resumed with Range within the same run', () =>
  withHarness(async (h) => {
    await publish(h, '100.0.0');
    h.upstream.fault(`${BASE}/100.0.0/${IMAGE}`, { truncateAt: 70_000 });
    const r = await h.refresh();
    assert.equal(r.ok, true, r.error);
    const gets = h.upstream.gets(`/100.0.0/${IMAGE}`);
    assert.deepEqual(
      gets.map((g) => g.range),
      [undefined, 'bytes=70000-'],
    );
  }));

test('a truncated download is resumed by the next run', () =>
  withHarness(async (h) => {
    await publish(h, '100.0.0');
    h.upstream.fault(`${BASE}/100.0.0/${IMAGE}`, { truncateAt: 50_000 });
    const first = await h.refresh({}, { retries: 0 });
    assert.equal(first.ok, false);
    assert.match(first.versions[0]?.reason ?? '', /cut short|connection lost/);
    assert.ok(!existsSync(h.mirrorPath('stable/amd64-usr/100.0.0')));
    const second = await h.refresh({}, { retries: 0 });
    assert.equal(second.ok, true, second.error);
    assert.equal(h.upstream.gets(`/100.0.0/${IMAGE}`).at(-1)?.range, 'bytes=50000-');
    const want = readFileSync(join(h.upstreamRoot, 'stable/amd64-usr/100.0.0', IMAGE));
    assert.ok(readFileSync(h.mirrorPath('stable/amd64-usr/100.0.0', IMAGE)).equals(want));
  }));

test('resumed bytes that fail verification are discarded and fetched whole once', () =>
  withHarness(async (h) => {
    await publish(h, '100.0.0');
    const staged = h.mirrorPath('.staging/stable/amd64-usr/100.0.0');
    (await import('node:fs')).mkdirSync(staged, { recursive: true });
    writeFileSync(join(staged, IMAGE), Buffer.alloc(1000, 0x55));
    const r = await h.refresh();
    assert.equal(r.ok, true, r.error);
    assert.deepEqual(
      h.upstream.gets(`/100.0.0/${IMAGE}`).map((g) => g.range),
      ['bytes=1000-', undefined],
    );
  }));

test('dry run resolves versions but writes nothing', () =>
  withHarness(async (h) => {
    await publish(h, '100.0.0');
    const r = await h.refresh({ dryRun: true });
    assert.equal(r.ok, true);
    assert.equal(r.versions[0]?.status, 'new');
    assert.equal(r.versions[0]?.dryRun, true);
    assert.deepEqual(readdirSync(h.mirrorPath()), []);
  }));

test('filters narrow the run: --channel, --board and --version', () =>
  withHarness(async (h) => {
    await buildRelease(h.upstreamRoot, h.key, '90.0.0');
    await publish(h, '100.0.0');
    const mirror = {
      releases: [
        { channel: 'stable', board: 'amd64-usr', versions: ['current'] },
        { channel: 'beta', board: 'amd64-usr', versions: ['current'] },
      ],
    };
    const r = await h.refresh({ filter: { channels: ['stable'], versions: ['90.0.0'] } }, mirror);
    assert.deepEqual(
      r.versions.map((v) => `${v.channel} ${v.version} ${v.status}`),
      ['stable 90.0.0 new'],
    );
    assert.equal(h.upstream.gets('/current/version.txt').length, 0);
  }));

test.run();
