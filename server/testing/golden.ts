// Golden files: generated scripts and configs compared byte-for-byte with a checked-in
// copy under fixtures/golden/. UPDATE_GOLDEN=1 rewrites them (review the diff!).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT } from '../config.ts';

export const GOLDEN_DIR = join(PACKAGE_ROOT, 'fixtures/golden');

export function assertGolden(name: string, actual: string | Buffer): void {
  const file = join(GOLDEN_DIR, name);
  if (process.env['UPDATE_GOLDEN'] === '1') {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  let expected: Buffer;
  try {
    expected = readFileSync(file);
  } catch {
    throw new Error(`golden file ${file} is missing: run with UPDATE_GOLDEN=1 to create it`);
  }
  if (typeof actual === 'string') assert.fixture(actual, expected.toString('utf8'), name);
  else assert.ok(expected.equals(actual), `${name}: bytes differ from the golden file`);
}
