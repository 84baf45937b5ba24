import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'uvu';
import { silentLogger } from '../log.ts';
import { AutoRefresh, startMirrorJob } from './auto-refresh.ts';
import { buildRelease, setLink } from './testing/fake-upstream.ts';
import { createHarness } from './testing/harness.ts';

const IMAGE = 'flatcar_production_image.bin.bz2';

test('runs at start, retries a failure with backoff, then keeps the interval', async () => {
  const h = await createHarness();
  try {
    await buildRelease(h.upstreamRoot, h.key, '100.0.0');
    setLink(h.upstreamRoot, '100.0.0');
    h.upstream.fault(`/stable/amd64-usr/100.0.0/${IMAGE}`, { status: 500, times: 1 });
    const outcomes: { ok: boolean; nextInMs: number }[] = [];
    let done: () => void = () => undefined;
    const twoAttempts = new Promise<void>((r) => {
      done = r;
    });
    const job = new AutoRefresh({
      intervalMs: 60_000,
      retryBaseMs: 10,
      log: silentLogger(),
      run: (signal) => h.refresh({ signal }, { retries: 0 }),
      onAttempt: (o) => {
        outcomes.push(o);
        if (outcomes.length === 2) done();
      },
    });
    await twoAttempts;
    await job.stop(Date.now() + 1000);
    assert.deepEqual(outcomes, [
      { ok: false, nextInMs: 10 },
      { ok: true, nextInMs: 60_000 },
    ]);
    assert.ok(existsSync(h.mirrorPath('stable/amd64-usr/current', IMAGE)));
  } finally {
    await h.close();
  }
});

test('stop aborts an in-flight refresh: nothing published, lock released', async () => {
  const h = await createHarness();
  try {
    await buildRelease(h.upstreamRoot, h.key, '100.0.0');
    setLink(h.upstreamRoot, '100.0.0');
    h.upstream.fault(`/stable/amd64-usr/100.0.0/${IMAGE}`, { slowMs: 50 });
    const job = startMirrorJob(h.config({ autoRefresh: true }), silentLogger());
    assert.ok(job);
    while (h.upstream.gets(IMAGE).length === 0) await new Promise((r) => setTimeout(r, 5));
    await job.stop(Date.now() + 2000);
    assert.ok(!existsSync(h.mirrorPath('stable/amd64-usr/100.0.0')));
    assert.ok(!existsSync(h.mirrorPath('.lock')));
  } finally {
    await h.close();
  }
});

test('autoRefresh: false starts no job', async () => {
  const h = await createHarness();
  try {
    assert.equal(startMirrorJob(h.config({ autoRefresh: false }), silentLogger()), undefined);
  } finally {
    await h.close();
  }
});

test('the lifecycle signal aborts an in-flight refresh like stop does', async () => {
  const h = await createHarness();
  try {
    await buildRelease(h.upstreamRoot, h.key, '100.0.0');
    setLink(h.upstreamRoot, '100.0.0');
    h.upstream.fault(`/stable/amd64-usr/100.0.0/${IMAGE}`, { slowMs: 50 });
    const lifecycle = new AbortController();
    const attempts: boolean[] = [];
    const job = new AutoRefresh({
      intervalMs: 60_000,
      retryBaseMs: 10,
      log: silentLogger(),
      run: (signal) => h.refresh({ signal }, { retries: 0 }),
      onAttempt: (o) => attempts.push(o.ok),
      signal: lifecycle.signal,
    });
    while (h.upstream.gets(IMAGE).length === 0) await new Promise((r) => setTimeout(r, 5));
    lifecycle.abort(new Error('server stopping'));
    // No stop(): the signal alone ends the run (the lock goes when it ends, published or not).
    const until = Date.now() + 20_000;
    while (existsSync(h.mirrorPath('.lock')) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!existsSync(h.mirrorPath('.lock')), 'the run ended');
    assert.ok(!existsSync(h.mirrorPath('stable/amd64-usr/100.0.0')), 'nothing published');
    assert.deepEqual(attempts, [], 'the aborted run is no attempt, and none follows');
    await job.stop(Date.now() + 2000);
  } finally {
    await h.close();
  }
});

test('a crash of the job itself (not a failed refresh) goes to onCrash, once', async () => {
  const h = await createHarness();
  try {
    const crashes: unknown[] = [];
    let crashed: () => void = () => undefined;
    const reported = new Promise<void>((r) => {
      crashed = r;
    });
    const job = new AutoRefresh({
      intervalMs: 60_000,
      retryBaseMs: 10,
      log: silentLogger(),
      run: (signal) => h.refresh({ signal }, { retries: 0 }), // no release upstream: fails, is retried
      onAttempt: () => {
        throw new Error('observer bug');
      },
      onCrash: (err) => {
        crashes.push(err);
        crashed();
      },
    });
    await reported;
    await new Promise((r) => setTimeout(r, 100));
    await job.stop(Date.now() + 1000);
    assert.equal(crashes.length, 1, 'a crashed job schedules nothing more');
    assert.match(String(crashes[0]), /observer bug/);
  } finally {
    await h.close();
  }
});

test.run();
