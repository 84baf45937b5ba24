// Concurrency, disk full, and a railyard mirroring from another railyard.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import { listenHttp } from '../http/listener.ts';
import { testApp } from '../testing/fixtures.ts';
import { LockBusyError } from './lock.ts';
import { readStatus } from './status.ts';
import { buildRelease, setLink } from './testing/fake-upstream.ts';
import { createHarness, type Harness } from './testing/harness.ts';

const IMAGE = 'flatcar_production_image.bin.bz2';

async function withHarness(fn: (h: Harness) => Promise<void>, dataDir?: string): Promise<void> {
  const h = await createHarness(dataDir ? { dataDir } : {});
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

async function waitFor(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

test('two concurrent runs: the second exits with a clear message, or waits', () =>
  withHarness(async (h) => {
    await buildRelease(h.upstreamRoot, h.key, '100.0.0');
    setLink(h.upstreamRoot, '100.0.0');
    h.upstream.fault(`/stable/amd64-usr/100.0.0/${IMAGE}`, { slowMs: 15 });
    const first = h.refresh();
    await waitFor(() => existsSync(h.mirrorPath('.lock')));
    await assert.rejects(h.refresh(), (err: unknown) => {
      return err instanceof LockBusyError && /another mirror refresh is running/.test(err.message);
    });
    const waiting = h.refresh({ waitForLock: true });
    const [a, b] = await Promise.all([first, waiting]);
    assert.equal(a.versions[0]?.status, 'new');
    assert.equal(b.versions[0]?.status, 'unchanged');
  }));

test('disk full: clear error, nothing published, previous mirror intact', async () => {
  if (process.getuid?.() !== 0) {
    console.log('    skipped: disk-full test needs root to mount a small tmpfs');
    return;
  }
  const { mkdtempSync, rmSync } = await import('node:fs');
  const mnt = mkdtempSync('/tmp/railyard-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
  try {
    mkdirSync(join(mnt, 'data'));
    await withHarness(
      async (h) => {
        await buildRelease(h.upstreamRoot, h.key, '99.0.0', { size: 50_000 });
        setLink(h.upstreamRoot, '99.0.0');
        assert.equal((await h.refresh()).ok, true);
        await buildRelease(h.upstreamRoot, h.key, '100.0.0', { size: 900_000 });
        setLink(h.upstreamRoot, '100.0.0');
        const r = await h.refresh();
        assert.equal(r.ok, false);
        assert.match(r.versions[0]?.reason ?? '', /disk full \(ENOSPC\) at .*\.staging/);
        assert.ok(!existsSync(h.mirrorPath('stable/amd64-usr/100.0.0')));
        assert.equal(readlinkSync(h.mirrorPath('stable/amd64-usr/current')), '99.0.0');
        assert.ok(existsSync(h.mirrorPath('stable/amd64-usr/99.0.0', IMAGE)));
      },
      join(mnt, 'data'),
    );
  } finally {
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});

test('railyard from railyard: a second instance mirrors the first over /mirror/', async () => {
  const site = await testApp({ mirrored: false });
  const http = await listenHttp(site.app, { host: '127.0.0.1', port: 0 });
  try {
    await withHarness(async (a) => {
      await buildRelease(a.upstreamRoot, a.key, '100.0.0');
      setLink(a.upstreamRoot, '100.0.0');
      assert.equal((await a.refresh()).ok, true);
      await withHarness(async (b) => {
        const upstream = `http://127.0.0.1:${http.address.port}/mirror/{channel}/{board}`;
        const r = await b.refresh({}, { upstream });
        assert.equal(r.ok, true, r.error);
        for (const f of [IMAGE, `${IMAGE}.sig`, `${IMAGE}.DIGESTS`, `${IMAGE}.DIGESTS.asc`]) {
          const want = readFileSync(a.mirrorPath('stable/amd64-usr/100.0.0', f));
          assert.ok(readFileSync(b.mirrorPath('stable/amd64-usr/100.0.0', f)).equals(want), f);
        }
        assert.equal(readlinkSync(b.mirrorPath('stable/amd64-usr/current')), '100.0.0');
        const again = await b.refresh({}, { upstream });
        assert.equal(again.versions[0]?.status, 'unchanged');
        assert.equal(again.bytes, 0);
        // The validator B keeps makes its no-op refresh a conditional GET the site answers with 304.
        const status = await readStatus(b.mirrorPath('.status.json'));
        const [url, cached] = Object.entries(status.validators ?? {})[0] ?? [];
        assert.ok(url && cached?.etag, 'validator stored');
        const res = await fetch(url, { headers: { 'If-None-Match': cached.etag } });
        assert.equal(res.status, 304);
      });
    }, site.dataDir);
  } finally {
    await http.stop(Date.now());
    site.cleanup();
  }
});

test.run();
