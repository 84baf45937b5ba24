// HTTP limits on the real Node server, with raw sockets and curl as the clients: slow
// headers and slow bodies are cut at their timeouts while a slow download is not; the
// connection caps per client and overall; a client that hangs up mid-body is an info line.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type TestApp, testApp } from '../testing/fixtures.ts';
import { captureLog } from '../testing/log-capture.ts';
import { type HttpListener, listenHttp } from './listener.ts';

const run = promisify(execFile);
const { log, lines } = captureLog<{ level: number; msg: string }>('debug');
let t: TestApp;
const IMAGE_SIZE = 16 * 1024 * 1024;
const LIMITS = {
  headerTimeout: 1000,
  bodyTimeout: 1000,
  idleTimeout: 5000,
  maxConnections: 16,
  maxConnectionsPerClient: 4,
};
let listener: HttpListener;
let port = 0;

test.before(async () => {
  t = await testApp({ log });
  const image = join(t.dataDir, 'mirror/stable/amd64-usr/9999.0.0/flatcar_production_image.bin.bz2');
  writeFileSync(image, Buffer.alloc(IMAGE_SIZE, 5));
  listener = await listenHttp(t.app, { host: '127.0.0.1', port: 0 }, LIMITS, log);
  port = listener.address.port;
});
test.after(async () => {
  await listener.stop(Date.now());
  t.cleanup();
});

function open(localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with everything the server sent, when it closes the connection (or after `maxMs`). */
function untilClosed(s: Socket, maxMs: number): Promise<{ data: string; ms: number; closed: boolean }> {
  const t0 = Date.now();
  let data = '';
  s.on('data', (d) => {
    data += d.toString();
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ data, ms: Date.now() - t0, closed: false }), maxMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve({ data, ms: Date.now() - t0, closed: true });
    });
    s.on('error', () => {});
  });
}

test('slow headers are cut after http.headerTimeout (slowloris)', async () => {
  const s = await open();
  s.write('GET /ui/login HTTP/1.1\r\nHost: localhost\r\n');
  const drip = setInterval(() => s.writable && s.write('X-Slow: 1\r\n'), 300);
  const r = await untilClosed(s, 10_000);
  clearInterval(drip);
  assert.ok(r.closed, 'connection closed');
  assert.ok(r.ms < 4000, `closed after ${r.ms} ms`);
  assert.match(r.data, /^HTTP\/1\.1 408/);
});

test('a slow body is cut after headerTimeout + bodyTimeout', async () => {
  const s = await open();
  s.write(
    'POST /ui/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n',
  );
  const drip = setInterval(() => s.writable && s.write('a'), 200);
  const r = await untilClosed(s, 10_000);
  clearInterval(drip);
  assert.ok(r.closed, 'connection closed');
  assert.ok(r.ms < 5000, `closed after ${r.ms} ms`);
});

test('a slow download is not cut by the request timeouts', async () => {
  // 16 MiB does not fit in loopback socket buffers: the server's writes wait for the reader.
  const url = `http://127.0.0.1:${port}/mirror/stable/amd64-usr/current/flatcar_production_image.bin.bz2`;
  const t0 = Date.now();
  const got = await new Promise<number>((resolve, reject) => {
    get(url, (res) => {
      let n = 0;
      res.once('data', (d: Buffer) => {
        n += d.length;
        res.pause();
        setTimeout(() => res.resume(), 3000); // longer than headerTimeout + bodyTimeout
        res.on('data', (more: Buffer) => {
          n += more.length;
        });
      });
      res.on('end', () => resolve(n));
      res.on('error', reject);
    }).on('error', reject);
  });
  assert.is(got, IMAGE_SIZE);
  assert.ok(Date.now() - t0 >= 3000);
});

test('more than maxConnectionsPerClient from one address: 503 and closed; other addresses unaffected', async () => {
  const held = await Promise.all([1, 2, 3, 4].map(() => open('127.0.0.5')));
  const extra = await open('127.0.0.5');
  const r = await untilClosed(extra, 3000);
  assert.ok(r.closed);
  assert.match(r.data, /^HTTP\/1\.1 503/);
  const other = await run('curl', [
    '-sS',
    '--interface',
    '127.0.0.6',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    `http://127.0.0.1:${port}/healthz`,
  ]);
  assert.is(other.stdout, '200');
  for (const s of held) s.destroy();
  assert.ok(lines.some((l) => l.msg === 'HTTP connection refused: http.maxConnectionsPerClient reached'));
});

test('more than maxConnections overall: new connections are dropped until some close', async () => {
  const held: Socket[] = [];
  for (let i = 0; i < 16; i++) held.push(await open(`127.0.1.${i + 1}`));
  const extra = await open('127.0.2.1');
  const r = await untilClosed(extra, 3000);
  assert.ok(r.closed, 'the 17th connection is closed');
  assert.is(r.data, '');
  for (const s of held) s.destroy();
  await new Promise((res) => setTimeout(res, 200));
  const after = await run('curl', [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    `http://127.0.0.1:${port}/healthz`,
  ]);
  assert.is(after.stdout, '200');
});

test('a client that hangs up mid-body is logged at info, not as a 500 with a stack', async () => {
  lines.length = 0;
  const s = await open();
  s.write(
    'POST /ui/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ntoken=abc',
  );
  await new Promise((res) => setTimeout(res, 200));
  s.destroy();
  await new Promise((res) => setTimeout(res, 300));
  const gone = lines.find((l) => l.msg === 'client went away');
  assert.is(gone?.level, 30);
  assert.is(lines.filter((l) => l.level >= 50).length, 0, JSON.stringify(lines));
});

test.run();
