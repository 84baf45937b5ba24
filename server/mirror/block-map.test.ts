// The block map against a known layout: ranges equal the non-zero 4 KiB blocks (found here by
// a plain per-block scan), whatever the chunk sizes; spans coalesce small gaps; and the real
// bmaptool (bmap-tools 3.6) agrees: `bmaptool create` on the sparse file lists the same ranges,
// `bmaptool copy --bmap` accepts our file (its checksums) and writes a byte-identical image.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../testing/fixtures.ts';
import { BLOCK_SIZE, BlockMapBuilder, type ImageMap } from './block-map.ts';
import { parseSpans, renderBmap, renderSpans } from './bmap.ts';
import { type ImageLayout, writeImage } from './testing/flatcar-like.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Partial first block, a range crossing blocks, an adjacent segment, gaps, a short last block. */
export const KNOWN: ImageLayout = {
  size: 5 * MiB + 1000,
  segments: [
    { offset: 0, length: 100 },
    { offset: 3 * BLOCK_SIZE + 10, length: 5000 },
    { offset: 5 * BLOCK_SIZE, length: BLOCK_SIZE },
    { offset: 40 * KiB, length: 4 * KiB },
    { offset: 1 * MiB, length: 64 * KiB },
    { offset: 3 * MiB + 7, length: 1 },
    { offset: 5 * MiB + 500, length: 500 },
  ],
  partitions: [],
};

function nonZeroBlocks(image: Buffer): number[] {
  const out: number[] = [];
  for (let b = 0; b * BLOCK_SIZE < image.length; b++) {
    if (image.subarray(b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE).some((x) => x !== 0)) out.push(b);
  }
  return out;
}

function mapOf(
  image: Buffer,
  chunk: (i: number) => number,
  gap?: number,
  onSpanData?: (b: Buffer) => void,
): ImageMap {
  const b = new BlockMapBuilder(gap, onSpanData);
  for (let at = 0, i = 0; at < image.length; i++) {
    const n = Math.min(chunk(i), image.length - at);
    b.feed(image.subarray(at, at + n));
    at += n;
  }
  return b.finish();
}

function blocksOf(map: ImageMap): number[] {
  return map.ranges.flatMap((r) => Array.from({ length: r.last - r.first + 1 }, (_, i) => r.first + i));
}

function withImage(fn: (dir: string, path: string, image: Buffer) => void): void {
  const t = tempDir('railyard-bmap-');
  try {
    const path = join(t.dir, 'image.bin');
    writeImage(path, KNOWN);
    fn(t.dir, path, readFileSync(path));
  } finally {
    t.cleanup();
  }
}

test('ranges are exactly the non-zero blocks, each with its SHA-256, for any chunking', () => {
  withImage((_dir, _path, image) => {
    const expected = nonZeroBlocks(image);
    assert.equal(expected.slice(0, 4), [0, 3, 4, 5]);
    for (const chunk of [
      () => 1 * MiB,
      () => 4095,
      () => 4097,
      (i: number) => [1, 7, 8192, 100_000][i % 4]!,
    ]) {
      const map = mapOf(image, chunk);
      assert.equal(blocksOf(map), expected);
      assert.is(map.imageSize, image.length);
      assert.is(map.sha256, createHash('sha256').update(image).digest('hex'));
      assert.is(map.mappedBlocks, expected.length);
      for (const r of map.ranges) {
        const bytes = image.subarray(r.first * BLOCK_SIZE, Math.min((r.last + 1) * BLOCK_SIZE, image.length));
        assert.is(r.sha256, createHash('sha256').update(bytes).digest('hex'));
      }
    }
    assert.equal(
      mapOf(image, () => MiB).ranges.map((r) => [r.first, r.last]),
      [
        [0, 0],
        [3, 5],
        [10, 10],
        [256, 271],
        [768, 768],
        [1280, 1280],
      ],
    );
  });
});

test('spans coalesce ranges closer than the gap; their digest covers the gaps as zeros', () => {
  withImage((_dir, _path, image) => {
    const mapped: Buffer[] = [];
    const map = mapOf(
      image,
      () => 65536,
      64 * KiB,
      (b) => mapped.push(Buffer.from(b)),
    );
    assert.equal(map.spans, [
      { offset: 0, length: 44 * KiB },
      { offset: 1 * MiB, length: 64 * KiB },
      { offset: 3 * MiB, length: BLOCK_SIZE },
      { offset: 5 * MiB, length: 1000 },
    ]);
    const bytes = Buffer.concat(map.spans.map((s) => image.subarray(s.offset, s.offset + s.length)));
    assert.is(map.spansSha256, createHash('sha256').update(bytes).digest('hex'));
    assert.ok(Buffer.concat(mapped).equals(bytes), 'onSpanData gets the spans bytes, in order');
    assert.equal(parseSpans(renderSpans(map.spans)), map.spans);
    assert.is(
      mapOf(image, () => MiB).spans.length,
      3,
      'the default 1 MiB gap joins the ranges below 1 MiB + 64 KiB',
    );
  });
});

test('bmaptool agrees: create lists the same ranges; copy accepts our bmap and writes the same bytes', () => {
  withImage((dir, path, image) => {
    const map = mapOf(image, () => MiB);
    writeFileSync(join(dir, 'ours.bmap'), renderBmap(map));
    execFileSync('bmaptool', ['-q', 'create', '-o', join(dir, 'theirs.bmap'), path]);
    const theirs = readFileSync(join(dir, 'theirs.bmap'), 'utf8');
    const ours = readFileSync(join(dir, 'ours.bmap'), 'utf8');
    const rangesOf = (xml: string) =>
      [...xml.matchAll(/<Range chksum="([0-9a-f]+)">\s*([\d-]+)\s*</g)].map((m) => m.slice(1));
    assert.equal(rangesOf(ours), rangesOf(theirs));
    execFileSync('zstd', ['-q', '-T2', '-3', path, '-o', join(dir, 'image.bin.zst')]);
    execFileSync('bmaptool', [
      '-q',
      'copy',
      '--bmap',
      join(dir, 'ours.bmap'),
      join(dir, 'image.bin.zst'),
      join(dir, 'copy.img'),
    ]);
    assert.ok(readFileSync(join(dir, 'copy.img')).equals(image), 'bmaptool copy output equals the image');
    writeFileSync(join(dir, 'bad.bmap'), ours.replace(/chksum="[0-9a-f]/, 'chksum="x'));
    assert.throws(() =>
      execFileSync(
        'bmaptool',
        ['-q', 'copy', '--bmap', join(dir, 'bad.bmap'), path, join(dir, 'copy2.img')],
        {
          stdio: 'pipe',
        },
      ),
    );
  });
});

test.run();
