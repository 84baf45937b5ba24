// Flatcar-like raw disk images for tests and the bench: a sparse file of the layout's size
// with pseudo-random (incompressible, deterministic) data in given segments, zeros elsewhere.
// `flatcarLayout()` follows Flatcar's disk_layout.json (flatcar/scripts build_library, the
// layout since Oct 2025: EFI 1 GiB, BIOS-BOOT 2 MiB, USR-A 2 GiB btrfs+verity, USR-B 2 GiB
// empty, OEM 1 GiB btrfs, OEM-CONFIG 64 MiB, ROOT ext4) with ≈0.6 GiB of data where those
// filesystems keep it. Test-only and bench-only: never imported by production code.
import { createCipheriv } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';

const KiB = 1024;
const MiB = 1024 * KiB;

export interface Segment {
  offset: number;
  length: number;
}

export interface ImageLayout {
  size: number;
  segments: Segment[];
  /** GPT partitions (sgdisk), when the caller wants a partition table written too. */
  partitions: Array<{ label: string; start: number; size: number; type: string }>;
}

/** Deterministic pseudo-random bytes (AES-256-CTR keystream); `seed` picks the stream. */
export function pseudoRandom(length: number, seed: number): Buffer {
  const key = Buffer.alloc(32, 0x5a);
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(seed >>> 0, 0);
  return createCipheriv('aes-256-ctr', key, iv).update(Buffer.alloc(length));
}

/** Write the layout's segments into a fresh sparse file of its size. */
export function writeImage(path: string, layout: ImageLayout, seed = 1): void {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, layout.size);
    layout.segments.forEach((s, i) => {
      for (let done = 0; done < s.length; done += 8 * MiB) {
        const n = Math.min(8 * MiB, s.length - done);
        writeSync(fd, pseudoRandom(n, seed * 1_000_003 + i * 4099 + done / MiB), 0, n, s.offset + done);
      }
    });
  } finally {
    closeSync(fd);
  }
}

/** Small deterministic PRNG for layout choices (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` runs of random length in [minLen, maxLen] separated by gaps in [minGap, maxGap], 4 KiB aligned. */
function runs(
  rnd: () => number,
  start: number,
  count: number,
  len: [number, number],
  gap: [number, number],
): Segment[] {
  const pick = ([lo, hi]: [number, number]) => Math.floor((lo + rnd() * (hi - lo)) / (4 * KiB)) * 4 * KiB;
  const out: Segment[] = [];
  let at = start;
  for (let i = 0; i < count; i++) {
    const length = Math.max(4 * KiB, pick(len));
    out.push({ offset: at, length });
    at += length + Math.max(4 * KiB, pick(gap));
  }
  return out;
}

/** Segments cut off at `end` (dropped when they start after it). */
function clip(segments: Segment[], end: number): Segment[] {
  return segments
    .filter((s) => s.offset < end)
    .map((s) => ({ offset: s.offset, length: Math.min(s.length, end - s.offset) }));
}

/** An 8 GiB image laid out like Flatcar's (partition starts in MiB from disk_layout.json). */
export function flatcarLayout(): ImageLayout {
  const rnd = prng(2025);
  const P = {
    efi: 2 * MiB,
    biosBoot: 1026 * MiB,
    usrA: 1028 * MiB,
    usrB: 3076 * MiB,
    oem: 5124 * MiB,
    oemConfig: 6148 * MiB,
    root: 6212 * MiB,
  };
  const size = 8192 * MiB;
  const segments: Segment[] = [
    // EFI-SYSTEM (FAT32): boot sector + used FAT entries, GRUB and its modules, vmlinuz-a
    { offset: P.efi, length: 64 * KiB },
    { offset: P.efi + 1 * MiB, length: 64 * KiB },
    { offset: P.efi + 8 * MiB, length: 10 * MiB },
    { offset: P.efi + 20 * MiB, length: 58 * MiB },
    { offset: P.biosBoot, length: 120 * KiB }, // GRUB core.img
    // USR-A (btrfs, zstd-compressed /usr): superblocks, metadata nodes, data extents, verity tree
    { offset: P.usrA + 64 * KiB, length: 4 * KiB },
    { offset: P.usrA + 64 * MiB, length: 4 * KiB },
    ...runs(rnd, P.usrA + 1 * MiB, 300, [16 * KiB, 256 * KiB], [16 * KiB, 64 * KiB]),
    ...clip(runs(rnd, P.usrA + 100 * MiB, 110, [1 * MiB, 8 * MiB], [4 * KiB, 6 * MiB]), P.usrA + 1010 * MiB),
    { offset: P.usrA + 1016 * MiB, length: 8400 * KiB },
    // OEM (btrfs): superblocks, a few metadata nodes, a few files
    { offset: P.oem + 64 * KiB, length: 4 * KiB },
    { offset: P.oem + 64 * MiB, length: 4 * KiB },
    ...runs(rnd, P.oem + 1 * MiB, 20, [16 * KiB, 128 * KiB], [16 * KiB, 64 * KiB]),
    { offset: P.oem + 30 * MiB, length: 1 * MiB },
    // ROOT (ext4, 128 MiB groups): superblock + GDT, bitmaps, first inodes, root dir, backups
    { offset: P.root, length: 8 * KiB },
    { offset: P.root + 1 * MiB, length: 64 * KiB },
    { offset: P.root + 2 * MiB, length: 16 * KiB },
    { offset: P.root + 600 * MiB, length: 4 * KiB },
    ...[1, 3, 5, 7, 9].map((g) => ({ offset: P.root + g * 128 * MiB, length: 8 * KiB })),
  ];
  const partitions = [
    { label: 'EFI-SYSTEM', start: P.efi, size: 1024 * MiB, type: 'ef00' },
    { label: 'BIOS-BOOT', start: P.biosBoot, size: 2 * MiB, type: 'ef02' },
    { label: 'USR-A', start: P.usrA, size: 2048 * MiB, type: '5dfbf5f4-2848-4bac-aa5e-0d9a20b745a6' },
    { label: 'USR-B', start: P.usrB, size: 2048 * MiB, type: '5dfbf5f4-2848-4bac-aa5e-0d9a20b745a6' },
    { label: 'OEM', start: P.oem, size: 1024 * MiB, type: '8300' },
    { label: 'OEM-CONFIG', start: P.oemConfig, size: 64 * MiB, type: 'c95dc21a-df0e-4340-8d7b-26cbfa9a03e0' },
    {
      label: 'ROOT',
      start: P.root,
      size: size - P.root - 1 * MiB,
      type: '3884dd41-8582-4404-b9a8-e9b84f2df50e',
    },
  ];
  return { size, segments, partitions };
}

export function dataBytes(layout: ImageLayout): number {
  return layout.segments.reduce((a, s) => a + s.length, 0);
}
