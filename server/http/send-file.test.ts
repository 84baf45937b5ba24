// The real server's file path (static.ts → send-file.ts: synchronous page-cache reads, the
// thread pool after a slow read, pooled buffers) with real clients: curl reading slowly, a
// socket that hangs up mid-file, both read paths byte for byte.

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type TestApp, testApp } from '../testing/fixtures.ts';
import { CHUNK, idleBuffers, release, take, trim } from './buffer-pool.ts';
import { listenHttp } from './listener.ts';
import { preferAsyncReads } from './send-file.ts';

const run = promisify(execFile);
const FILE = 'mirror/stable/amd64-usr/9999.0.0/big.bin';
const body = randomBytes(6 * 1024 * 1024 + 4097); // not a multiple of the chunk
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let t: TestApp;
let listener: Awaited<ReturnType<typeof listenHttp>>;
let url = '';

test.before(async () => {
  t = await testApp();
  writeFileSync(join(t.dataDir, FILE), body);
  listener = await listenHttp(t.app, { host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${listener.address.port}/${FILE}`;
});

async function curl(...args: string[]): Promise<Buffer> {
  const { stdout } = await run('curl', ['-fsS', ...args, url], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

test('a client that reads slowly gets every byte, in order', async () => {
  // 6 MiB at 8 MB/s: the socket is full most of the time, so the sender waits for drain
  const got = await curl('--limit-rate', '8M');
  assert.is(got.length, body.length);
  assert.is(sha(got), sha(body));
});

test('the thread-pool path (after a slow read) sends the same bytes, and ranges', async () => {
  preferAsyncReads(60_000);
  try {
    assert.is(sha(await curl()), sha(body));
    const start = CHUNK - 3;
    const got = await curl('-r', `${start}-${start + 3 * CHUNK}`);
    assert.ok(got.equals(body.subarray(start, start + 3 * CHUNK + 1)));
  } finally {
    preferAsyncReads(0);
  }
});

test('parallel downloads and ranges across chunk edges are intact', async () => {
  const ranges = [
    [0, 0],
    [CHUNK - 1, CHUNK],
    [CHUNK, 2 * CHUNK - 1],
    [body.length - 5, body.length - 1],
  ] as const;
  const [whole, ...parts] = await Promise.all([curl(), ...ranges.map(([a, b]) => curl('-r', `${a}-${b}`))]);
  assert.is(sha(whole as Buffer), sha(body));
  parts.forEach((p, i) => {
    const [a, b] = ranges[i]!;
    assert.ok(p.equals(body.subarray(a, b + 1)), `range ${a}-${b}`);
  });
});

const fds = () => readdirSync('/proc/self/fd').length;

async function hangUpAfter(bytes: number): Promise<void> {
  const { port } = listener.address;
  await new Promise<void>((resolve, reject) => {
    let got = 0;
    const s = connect(port, '127.0.0.1', () => s.write(`GET /${FILE} HTTP/1.1\r\nHost: x\r\n\r\n`));
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= bytes) s.destroy();
    });
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

test('clients that hang up mid-file leave no open descriptor behind', async () => {
  const before = fds();
  for (let i = 0; i < 8; i++) await hangUpAfter(1024 * 1024);
  await Promise.all(Array.from({ length: 8 }, () => hangUpAfter(2 * 1024 * 1024)));
  // the server notices each close on its next write or drain: give it a moment
  for (let i = 0; i < 100 && fds() > before; i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(fds() <= before, `descriptors grew from ${before} to ${fds()}`);
  assert.is(sha(await curl()), sha(body), 'the server still serves');
});

test('the buffer pool keeps what was needed, and trims what stayed idle', () => {
  trim();
  trim(); // empty it
  assert.is(idleBuffers(), 0);
  const bufs = Array.from({ length: 5 }, take);
  assert.ok(bufs.every((b) => b.length === CHUNK));
  for (const b of bufs) release(b);
  assert.is(idleBuffers(), 5);
  assert.is(take(), bufs[4], 'a released buffer is reused');
  trim();
  assert.is(idleBuffers(), 4, 'buffers in use since the last trim are kept');
  trim();
  assert.is(idleBuffers(), 0, 'buffers idle for a whole interval are dropped');
  release(bufs[4]!);
  trim();
  assert.is(idleBuffers(), 1);
  trim();
  assert.is(idleBuffers(), 0);
});

test.after(async () => {
  await listener.stop(Date.now() + 1000);
  t.cleanup();
});
test.run();
