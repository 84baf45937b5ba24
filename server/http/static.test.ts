import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type TestApp, testApp } from '../testing/fixtures.ts';

let t: TestApp;
const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
test.before(async () => {
  t = await testApp();
  writeFileSync(join(t.dataDir, 'mirror', 'stable', 'amd64-usr', '9999.0.0', 'blob.bin'), body);
  mkdirSync(join(t.dataDir, 'mirror', '.staging'), { recursive: true });
  writeFileSync(join(t.dataDir, 'mirror', '.staging', 'partial.bin'), 'STAGED-BYTES');
  writeFileSync(join(t.dataDir, 'secret.txt'), 'TOP-SECRET');
  symlinkSync(join(t.dataDir, 'secret.txt'), join(t.dataDir, 'mirror', 'escape'));
  // Links that stay inside the root but land on hidden names (relative and absolute).
  symlinkSync('../../.staging/partial.bin', join(t.dataDir, 'mirror', 'stable', 'amd64-usr', 'peek'));
  symlinkSync(join(t.dataDir, 'mirror', '.staging'), join(t.dataDir, 'mirror', 'stable', 'staged'));
  writeFileSync(join(t.dataDir, 'assets', 'hello.txt'), 'hello');
});
const URL_ = '/mirror/stable/amd64-usr/9999.0.0/blob.bin';

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
  t.app.request(path, { method, headers });

test('GET serves the whole file with validators', async () => {
  const res = await get(URL_);
  assert.is(res.status, 200);
  assert.is(res.headers.get('content-length'), '1000');
  assert.is(res.headers.get('accept-ranges'), 'bytes');
  assert.ok(res.headers.get('etag')?.startsWith('"'));
  assert.ok(res.headers.get('last-modified'));
  assert.equal(Buffer.from(await res.arrayBuffer()), body);
});

test('HEAD answers 200 with Content-Length and no body', async () => {
  const res = await get(URL_, {}, 'HEAD');
  assert.is(res.status, 200);
  assert.is(res.headers.get('content-length'), '1000');
  assert.is((await res.arrayBuffer()).byteLength, 0);
});

test('replies without a body (HEAD, 304, 416) close the file they opened: no descriptor leaks', async () => {
  const fds = () => readdirSync('/proc/self/fd').length;
  const etag = (await get(URL_, {}, 'HEAD')).headers.get('etag') ?? '';
  const before = fds();
  for (let i = 0; i < 40; i++) {
    assert.is((await get(URL_, {}, 'HEAD')).status, 200);
    assert.is((await get(URL_, { 'If-None-Match': etag })).status, 304);
    assert.is((await get(URL_, { Range: 'bytes=5000-6000' })).status, 416);
  }
  assert.ok(fds() <= before + 2, `descriptors grew from ${before} to ${fds()}`);
});

test('a file published over the one being served: the body is the version the headers describe', async () => {
  const dir = join(t.dataDir, 'mirror', 'stable', 'amd64-usr', '9999.0.0');
  writeFileSync(join(dir, 'swap.bin'), 'A'.repeat(3000));
  const res = await get('/mirror/stable/amd64-usr/9999.0.0/swap.bin');
  // a publish renames a new version over the path after the headers went out
  writeFileSync(join(dir, '.swap.new'), 'B'.repeat(10));
  renameSync(join(dir, '.swap.new'), join(dir, 'swap.bin'));
  assert.is(res.headers.get('content-length'), '3000');
  assert.is(Buffer.from(await res.arrayBuffer()).toString(), 'A'.repeat(3000));
});

test('a FIFO or a directory under the root is a 404, and the FIFO does not block the open', async () => {
  const dir = join(t.dataDir, 'mirror', 'stable', 'amd64-usr', '9999.0.0');
  execFileSync('mkfifo', [join(dir, 'pipe')]);
  const timeout = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 3000).unref());
  const res = await Promise.race([get('/mirror/stable/amd64-usr/9999.0.0/pipe'), timeout]);
  assert.ok(res !== 'hung', 'opening a FIFO blocked');
  assert.is(res.status, 404);
  assert.is((await get('/mirror/stable/amd64-usr/9999.0.0')).status, 404);
});

test('current resolves through the mirror link', async () => {
  const res = await get('/mirror/stable/amd64-usr/current/version.txt');
  assert.is(res.status, 200);
  assert.is(await res.text(), 'FLATCAR_VERSION=9999.0.0\n');
});

test('single ranges: bounded, open-ended, suffix, clamped', async () => {
  const cases: [string, number, number][] = [
    ['bytes=0-9', 0, 9],
    ['bytes=990-', 990, 999],
    ['bytes=-10', 990, 999],
    ['bytes=995-5000', 995, 999],
    ['bytes=-5000', 0, 999],
  ];
  for (const [range, start, end] of cases) {
    const res = await get(URL_, { range });
    assert.is(res.status, 206, range);
    assert.is(res.headers.get('content-range'), `bytes ${start}-${end}/1000`, range);
    assert.is(res.headers.get('content-length'), String(end - start + 1), range);
    assert.equal(Buffer.from(await res.arrayBuffer()), body.subarray(start, end + 1), range);
  }
});

test('unsatisfiable range is 416 with Content-Range */size', async () => {
  for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0']) {
    const res = await get(URL_, { range });
    assert.is(res.status, 416, range);
    assert.is(res.headers.get('content-range'), 'bytes */1000', range);
  }
});

test('malformed and multi-range headers fall back to the full file', async () => {
  for (const range of ['bytes=abc', 'items=0-1', 'bytes=0-1,5-6', 'bytes=9-3']) {
    const res = await get(URL_, { range });
    assert.is(res.status, 200, range);
    assert.is(res.headers.get('content-length'), '1000', range);
  }
});

test('If-Range with a stale validator sends the whole file', async () => {
  const res = await get(URL_, { range: 'bytes=0-9', 'if-range': '"stale"' });
  assert.is(res.status, 200);
  const etag = (await get(URL_, {}, 'HEAD')).headers.get('etag') as string;
  assert.is((await get(URL_, { range: 'bytes=0-9', 'if-range': etag })).status, 206);
});

test('conditional requests answer 304', async () => {
  const first = await get(URL_, {}, 'HEAD');
  const etag = first.headers.get('etag') as string;
  assert.is((await get(URL_, { 'if-none-match': etag })).status, 304);
  assert.is((await get(URL_, { 'if-none-match': `"other", ${etag}` })).status, 304);
  assert.is((await get(URL_, { 'if-none-match': '"other"' })).status, 200);
  const lm = first.headers.get('last-modified') as string;
  assert.is((await get(URL_, { 'if-modified-since': lm })).status, 304);
  assert.is((await get(URL_, { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' })).status, 200);
});

test('traversal, encoded traversal, NUL, hidden names and escaping symlinks are refused', async () => {
  const cases: [string, number[]][] = [
    ['/mirror/../secret.txt', [400, 404]],
    ['/mirror/stable/%2e%2e/%2e%2e/%2e%2e/secret.txt', [400, 404]], // URL parsing folds %2e%2e
    ['/mirror/stable%2f..%2f..%2fsecret.txt', [400]],
    ['/mirror/%2fetc%2fpasswd', [400]],
    ['/mirror/stable/a%00b', [400]],
    ['/mirror/%5c..%5csecret.txt', [400]],
    ['/mirror/.staging/partial.bin', [404]],
    ['/mirror/escape', [404]],
    ['/mirror/stable/amd64-usr/peek', [404]],
    ['/mirror/stable/staged/partial.bin', [404]],
    ['/mirror/stable/amd64-usr', [404]],
    ['/mirror/', [404]],
    ['/mirror/bad%zzescape', [400]],
    ['/assets//etc/passwd', [404]],
  ];
  for (const [path, statuses] of cases) {
    const res = await get(path);
    assert.ok(statuses.includes(res.status), `${path} → ${res.status}`);
    const text = await res.text();
    assert.not.match(text, 'TOP-SECRET', path);
    assert.not.match(text, 'STAGED-BYTES', path);
  }
});

test('assets are served from their own root', async () => {
  const res = await get('/assets/hello.txt');
  assert.is(res.status, 200);
  assert.is(await res.text(), 'hello');
  assert.is((await get('/assets/blob.bin')).status, 404);
});

test('POST to a file route is not served', async () => {
  assert.is((await get(URL_, {}, 'POST')).status, 404);
});

test('healthz reports version and uptime', async () => {
  const res = await get('/healthz');
  assert.is(res.status, 200);
  const json = (await res.json()) as { status: string; version: string; uptimeSeconds: number };
  assert.is(json.status, 'ok');
  assert.type(json.version, 'string');
  assert.type(json.uptimeSeconds, 'number');
});

test.after(() => t.cleanup());
test.run();
