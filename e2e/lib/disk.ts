// Disk contents after a run, read on the host without mounting: qemu-img convert to raw,
// the OEM partition (MBR entry 2 of the stand-in image) copied out, config.ign read with
// debugfs (ext4 in the stand-in; Flatcar's is btrfs).
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { run } from './proc.ts';

export async function toRaw(qcow2: string): Promise<string> {
  const raw = `${qcow2}.raw`;
  await run('qemu-img', ['convert', '-O', 'raw', qcow2, raw]);
  return raw;
}

/** config.ign from the partition labelled OEM, or null when the disk has no such partition. */
export async function readOemConfig(qcow2: string): Promise<Buffer | null> {
  const raw = await toRaw(qcow2);
  const oem = `${qcow2}.oem`;
  try {
    const table = JSON.parse(await run('sfdisk', ['-J', raw]).catch(() => '{}')) as {
      partitiontable?: { partitions?: Array<{ start: number; size: number }> };
    };
    const parts = table.partitiontable?.partitions ?? [];
    for (const p of parts) {
      await run('dd', [
        `if=${raw}`,
        `of=${oem}`,
        'bs=512',
        `skip=${p.start}`,
        `count=${p.size}`,
        'status=none',
      ]);
      const label = await run('blkid', ['-p', '-s', 'LABEL', '-o', 'value', oem]).catch(() => '');
      if (label.trim() !== 'OEM') continue;
      const out = await run('debugfs', ['-R', 'cat /config.ign', oem]);
      return Buffer.from(out);
    }
    return null;
  } finally {
    await rm(raw, { force: true });
    await rm(oem, { force: true });
  }
}

/** True when the first `bytes` of the disk are all zero (no partition table, no boot code). */
export async function headIsZero(qcow2: string, bytes = 4 * 1024 * 1024): Promise<boolean> {
  const raw = await toRaw(qcow2);
  try {
    const fh = await open(raw, 'r');
    const buf = Buffer.alloc(bytes);
    await fh.read(buf, 0, bytes, 0);
    await fh.close();
    return buf.every((b) => b === 0);
  } finally {
    await rm(raw, { force: true });
  }
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}
