import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../testing/fixtures.ts';
import { FileRoot } from './file-root.ts';
import { openUnderRoot, SMALL_FILE_BYTES, SmallFileCache } from './open-file.ts';

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

test.after(() => tmp.cleanup());
test.run();
