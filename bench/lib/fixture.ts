// The data both servers serve: a railyard data dir whose mirror holds a published release
// (9999.0.0, `current` → 9999.0.0) with small stand-in files and, optionally, a big file.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const RELEASE = 'stable/amd64-usr/9999.0.0';
export const BIG = 'big.bin';

export interface Fixture {
  dataDir: string;
  /** <dataDir>/mirror: nginx's root, so /<RELEASE>/x there is /mirror/<RELEASE>/x on railyard. */
  mirrorDir: string;
  releaseDir: string;
}

export function makeFixture(dir: string, bigBytes = 0): Fixture {
  const dataDir = join(dir, 'data');
  const mirrorDir = join(dataDir, 'mirror');
  const releaseDir = join(mirrorDir, RELEASE);
  mkdirSync(releaseDir, { recursive: true });
  symlinkSync('9999.0.0', join(mirrorDir, 'stable/amd64-usr/current'));
  writeFileSync(join(releaseDir, 'flatcar_production_pxe.vmlinuz'), randomBytes(64 * 1024));
  writeFileSync(join(releaseDir, 'flatcar_production_pxe_image.cpio.gz'), randomBytes(64 * 1024));
  writeFileSync(join(releaseDir, 'version.txt'), 'FLATCAR_VERSION=9999.0.0\n');
  if (bigBytes > 0) writeRandomFile(join(releaseDir, BIG), bigBytes);
  return { dataDir, mirrorDir, releaseDir };
}

/** Incompressible bytes, written in 8 MiB chunks (a 512 MiB file takes ~1 s). */
export function writeRandomFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  try {
    const chunk = randomBytes(8 * 1024 * 1024);
    for (let left = bytes; left > 0; left -= chunk.length) {
      chunk[0] = left & 0xff; // not the same block over and over
      writeSync(fd, chunk, 0, Math.min(left, chunk.length));
    }
  } finally {
    closeSync(fd);
  }
}
