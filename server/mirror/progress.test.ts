import assert from 'node:assert/strict';
import { test } from 'uvu';
import { formatBytes, renderBar } from './progress.ts';

test('renderBar shows name, bar, percent, sizes, rate and ETA', () => {
  const line = renderBar('flatcar_production_image.bin.bz2', 250_000_000, 500_000_000, 50_000_000, 120);
  assert.match(
    line,
    /^flatcar_production_image\.bin\.bz2 \[#+-+\] {2}50% 250\.0 MB\/500\.0 MB 50\.0 MB\/s ETA 5s$/,
  );
});

test('renderBar copes with an unknown total', () => {
  assert.match(renderBar('x', 1000, undefined, 0, 80), /^x \[-+\]\s+\?% 1\.0 KB 0 B\/s$/);
});

test('formatBytes', () => {
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1_500_000), '1.5 MB');
});

test.run();
