import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../testing/fixtures.ts';
import { FileRoot } from './file-root.ts';
import {
  openUnderRoot,
  type PositionalReader,
  SMALL_FILE_BYTES,
  SmallFileCache,
  withReadAhead,
} from './open-file.ts';

const tmp = tempDir('railyard-open-file-');
const root = new FileRoot(tmp.dir);

async function readAll(name: string, cache?: SmallFileCache): Promise<Buffer> {
  const f = await openUnderRoot(root, [name], cache);
  const out = Buffer.alloc(f.size);
  for (let pos = 0; pos < f.size; ) pos += await f.read(out, pos, Math.min(1000, f.size - pos), pos);
  await f.close();
  return out;
}

test('small files come from memory and follow a replaced file; large ones from disk', async () => {
  const cache = new SmallFileCache();
  writeFileSync(join(tmp.dir, 'a.bin'), Buffer.alloc(70 * 1024, 1));
  assert.ok((await readAll('a.bin', cache)).equals(Buffer.alloc(70 * 1024, 1)));
  assert.ok((await readAll('a.bin', cache)).equals(Buffer.alloc(70 * 1024, 1)));
  writeFileSync(join(tmp.dir, 'a.bin'), Buffer.alloc(71 * 1024, 2));
  assert.ok(
    (await readAll('a.bin', cache)).equals(Buffer.alloc(71 * 1024, 2)),
    'a new version is not served stale',
  );
  const big = Buffer.alloc(SMALL_FILE_BYTES + 1, 3);
  writeFileSync(join(tmp.dir, 'big.bin'), big);
  assert.ok((await readAll('big.bin', cache)).equals(big));
  writeFileSync(join(tmp.dir, 'empty.bin'), '');
  assert.is((await readAll('empty.bin', cache)).length, 0);
});

test('a read past the end returns what is there', async () => {
  writeFileSync(join(tmp.dir, 'b.bin'), 'abc');
  const f = await openUnderRoot(root, ['b.bin'], new SmallFileCache());
  const buf = Buffer.alloc(10);
  assert.is(await f.read(buf, 0, 10, 1), 2);
  assert.is(buf.subarray(0, 2).toString(), 'bc');
  assert.is(await f.read(buf, 0, 10, 3), 0);
});

test('large files: reads in any order, across read-ahead windows, at the end', async () => {
  const big = Buffer.alloc(SMALL_FILE_BYTES + 300 * 1024);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
  writeFileSync(join(tmp.dir, 'c.bin'), big);
  const f = await openUnderRoot(root, ['c.bin'], new SmallFileCache());
  const buf = Buffer.alloc(70_000);
  for (const pos of [0, 512, 262_000, 100, big.length - 1000, 262_144, 5 * 262_144 - 10]) {
    const n = await f.read(buf, 0, 70_000, pos);
    assert.is(n, Math.min(70_000, big.length - pos), `at ${pos}`);
    assert.ok(buf.subarray(0, n).equals(big.subarray(pos, pos + n)), `bytes at ${pos}`);
  }
  const huge = Buffer.alloc(300 * 1024);
  assert.is(await f.read(huge, 0, huge.length, 10), huge.length);
  assert.ok(huge.equals(big.subarray(10, 10 + huge.length)));
  await f.close();
});

/** A file of distinct 32-bit words, so any misplaced byte shows. */
function numbered(name: string, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) bytes.writeUInt32LE(i, i);
  writeFileSync(join(tmp.dir, name), bytes);
  return bytes;
}

/**
 * A real file handle whose reads wait: `land(i)` lets the i-th read go (in any order the test
 * likes), `openAll()` lets every waiting and future read go.
 */
async function gatedHandle(name: string) {
  const real = await open(join(tmp.dir, name), 'r');
  const waiting: Array<() => void> = [];
  let opened = false;
  const handle: PositionalReader = {
    read: async (buffer, offset, length, position) => {
      if (!opened) await new Promise<void>((resolve) => waiting.push(resolve));
      return real.read(buffer, offset, length, position);
    },
    close: () => real.close(),
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20)); // the real read lands
  return {
    handle,
    land: async (i: number) => {
      waiting[i]?.();
      await settle();
    },
    openAll: async () => {
      opened = true;
      for (const go of waiting) go();
      await settle();
    },
  };
}

// A TFTP transfer starts a new window's read while the previous window's read is in flight
// (an ACK arrived meanwhile). Such overlapping reads corrupted an 8 MiB atftp download.
test('read-ahead: a read while a miss is in flight gets its own bytes, not the old window', async () => {
  const bytes = numbered('d.bin', 1024 * 1024);
  const gate = await gatedHandle('d.bin');
  const f = withReadAhead(gate.handle, bytes.length);
  const a = Buffer.alloc(11_744);
  const b = Buffer.alloc(11_744);
  const fill = f.read(a, 0, a.length, 0);
  await gate.land(0);
  assert.is(await fill, a.length);
  const miss = f.read(a, 0, a.length, 252_496); // past the 256 KiB window: a disk read
  const meanwhile = f.read(b, 0, b.length, 255_432); // inside the range that read fetches
  await gate.openAll();
  assert.equal(await Promise.all([miss, meanwhile]), [a.length, b.length]);
  assert.ok(a.equals(bytes.subarray(252_496, 252_496 + a.length)), 'the miss');
  assert.ok(b.equals(bytes.subarray(255_432, 255_432 + b.length)), 'the read that came meanwhile');
  await f.close();
});

test('read-ahead: two misses that land out of order both read right, and so does what follows', async () => {
  const bytes = numbered('e.bin', 2 * 1024 * 1024);
  const gate = await gatedHandle('e.bin');
  const f = withReadAhead(gate.handle, bytes.length);
  const a = Buffer.alloc(8192);
  const b = Buffer.alloc(8192);
  // Caught here: a read that throws must fail the assertion below, not crash the runner.
  const first = f.read(a, 0, a.length, 300_000).catch((err: Error) => err.message);
  const second = f.read(b, 0, b.length, 900_000).catch((err: Error) => err.message);
  await gate.land(1); // the later read lands first
  await gate.land(0);
  assert.equal(await Promise.all([first, second]), [a.length, b.length]);
  assert.ok(a.equals(bytes.subarray(300_000, 308_192)), 'first');
  assert.ok(b.equals(bytes.subarray(900_000, 908_192)), 'second');
  await gate.openAll();
  for (const pos of [300_000, 304_000, 900_000, 904_000, 1_100_000]) {
    const c = Buffer.alloc(4096);
    assert.is(await f.read(c, 0, c.length, pos), c.length);
    assert.ok(c.equals(bytes.subarray(pos, pos + 4096)), `at ${pos}`);
  }
  await f.close();
});

test.after(() => tmp.cleanup());
test.run();
