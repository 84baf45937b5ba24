// The block map in bmap format 2.0 (bmap-tools, `bmaptool copy --bmap`): image size, block
// size, the mapped block ranges with a SHA-256 each, and the file's own SHA-256 (computed with
// the checksum field set to 64 "0"s, as bmaptool verifies it). Plus the installer's read-back
// spans as plain text (XML comments may not contain two dashes: none below do), one "offset length" line (bytes) per span.
import { createHash } from 'node:crypto';
import type { ImageMap, Span } from './block-map.ts';

const PLACEHOLDER = '0'.repeat(64);

export function renderBmap(map: ImageMap): string {
  const blocks = Math.ceil(map.imageSize / map.blockSize);
  const percent = blocks === 0 ? 0 : (map.mappedBlocks * 100) / blocks;
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  const ranges = map.ranges.map((r) => {
    const span = r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`;
    return `        <Range chksum="${r.sha256}"> ${span} </Range>`;
  });
  const text = [
    '<?xml version="1.0" ?>',
    '<!-- Block map of flatcar_production_image.bin: the blocks that are not all zeros, made',
    '     by railyard from the verified flatcar_production_image.bin.bz2. bmaptool copy writes',
    '     flatcar_production_image.bin.zst with it (its bmap option names this file). -->',
    '<bmap version="2.0">',
    `    <!-- Image size in bytes: ${mib(map.imageSize)} -->`,
    `    <ImageSize> ${map.imageSize} </ImageSize>`,
    '    <!-- Size of a block in bytes -->',
    `    <BlockSize> ${map.blockSize} </BlockSize>`,
    '    <!-- Count of blocks in the image file -->',
    `    <BlocksCount> ${blocks} </BlocksCount>`,
    `    <!-- Count of mapped blocks: ${mib(map.mappedBlocks * map.blockSize)} or ${percent.toFixed(1)}% -->`,
    `    <MappedBlocksCount> ${map.mappedBlocks} </MappedBlocksCount>`,
    '    <!-- Type of checksum used in this file -->',
    '    <ChecksumType> sha256 </ChecksumType>',
    '    <!-- The checksum of this bmap file, computed with this value set to all "0"s -->',
    `    <BmapFileChecksum> ${PLACEHOLDER} </BmapFileChecksum>`,
    '    <BlockMap>',
    ...ranges,
    '    </BlockMap>',
    '</bmap>',
    '',
  ].join('\n');
  const sum = createHash('sha256').update(text).digest('hex');
  return text.replace(
    `<BmapFileChecksum> ${PLACEHOLDER} </BmapFileChecksum>`,
    `<BmapFileChecksum> ${sum} </BmapFileChecksum>`,
  );
}

export function renderSpans(spans: readonly Span[]): string {
  return spans.map((s) => `${s.offset} ${s.length}\n`).join('');
}

/** Parse spans text back (the installer reads it with `while read`); throws on a malformed line. */
export function parseSpans(text: string): Span[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((line, i) => {
      const m = /^(\d+) (\d+)$/.exec(line);
      if (!m) throw new Error(`spans line ${i + 1}: expected "offset length", got ${JSON.stringify(line)}`);
      return { offset: Number(m[1]), length: Number(m[2]) };
    });
}
