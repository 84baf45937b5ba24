// The real server on an ephemeral port, fetched by real clients (curl, wget --spider as
// flatcar-install uses it).
import { execFile } from 'node:child_process';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type TestApp, testApp } from '../testing/fixtures.ts';
import { listenHttp } from './listener.ts';

const run = promisify(execFile);
let t: TestApp;
const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
let listener: Awaited<ReturnType<typeof listenHttp>>;
let base = '';

test.before(async () => {
  t = await testApp();
  writeFileSync(join(t.dataDir, 'mirror/stable/amd64-usr/9999.0.0/flatcar_production_image.bin.bz2'), big);
  listener = await listenHttp(t.app, { host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${listener.address.port}`;
});

test('curl downloads the image intact, and a range', async () => {
  const url = `${base}/mirror/stable/amd64-usr/current/flatcar_production_image.bin.bz2`;
  const out = join(t.dataDir, 'download.bin');
  await run('curl', ['-fsS', '-o', out, url]);
  const { readFileSync } = await import('node:fs');
  assert.ok(readFileSync(out).equals(big));
  const { stdout } = await run('curl', ['-fsS', '-r', '10-19', url], { encoding: 'buffer' });
  assert.is(stdout.length, 10);
});

test('wget --spider (HEAD) answers 200 with Content-Length, as flatcar-install requires', async () => {
  const url = `${base}/mirror/stable/amd64-usr/9999.0.0/flatcar_production_image.bin.bz2`;
  const { stderr } = await run('wget', ['--spider', '-S', '--tries', '1', url]);
  assert.match(stderr, 'HTTP/1.1 200 OK');
  assert.match(stderr.toLowerCase(), `content-length: ${big.length}`);
  await run('wget', [
    '--spider',
    '-q',
    '--tries',
    '1',
    `${base}/mirror/stable/amd64-usr/9999.0.0/missing.sig`,
  ]).then(
    () => assert.unreachable('missing file must fail the spider check'),
    (err: { code: number }) => assert.is(err.code, 8),
  );
});

test('graceful stop lets an in-flight download finish', async () => {
  const url = `${base}/mirror/stable/amd64-usr/current/flatcar_production_image.bin.bz2`;
  const download = run('curl', [
    '-fsS',
    '--limit-rate',
    '2M',
    '-o',
    '/dev/null',
    '-w',
    '%{size_download}',
    url,
  ]);
  await new Promise((r) => setTimeout(r, 300));
  await listener.stop(Date.now() + 10_000);
  const { stdout } = await download;
  assert.is(Number(stdout), big.length);
  await run('curl', ['-fsS', '--max-time', '2', `${base}/healthz`]).then(
    () => assert.unreachable('server should no longer accept connections'),
    () => undefined,
  );
});

test('a download still running at the drain deadline is reset, so the client learns at once', async () => {
  // 256 MiB (sparse) at 1 MB/s: far from done at the deadline, whatever the socket buffers hold
  const huge = join(t.dataDir, 'mirror/stable/amd64-usr/9999.0.0/huge.bin');
  writeFileSync(huge, '');
  truncateSync(huge, 256 * 1024 * 1024);
  const l = await listenHttp(t.app, { host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${l.address.port}/mirror/stable/amd64-usr/9999.0.0/huge.bin`;
  const download = run('curl', [
    '-sS',
    '--max-time',
    '30',
    '--limit-rate',
    '1M',
    '-o',
    '/dev/null',
    url,
  ]).then(
    () => 0,
    (err: { code: number }) => err.code,
  );
  await new Promise((r) => setTimeout(r, 500));
  const t0 = Date.now();
  await l.stop(Date.now() + 300);
  const code = await download;
  const seconds = (Date.now() - t0) / 1000;
  // 56: "Recv failure: Connection reset by peer"; a plain close gives 18 (partial file) only
  // after the client has read everything the kernel buffered (and in a container, never)
  assert.is(code, 56, `curl exit ${code}`);
  // (curl --limit-rate sleeps seconds between reads, so it notices the reset late)
  assert.ok(seconds < 10, `the client saw the cut ${seconds} s after stop`);
});

test.after(() => t.cleanup());
test.run();
