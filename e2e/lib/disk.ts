// Disk contents after a run, read on the host without mounting: qemu-img convert to raw,
// partitions found in the GPT by label (sfdisk -J) and copied out; ext4 ones (OEM: ext4 in the
// stand-in, Flatcar's is btrfs) read with debugfs, the FAT ESP with mtools.
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

/** What the hand-off read from an installed disk (Flatcar's GPT layout), read back on the host. */
export interface InstalledDisk {
  /** GPT partition labels in table order. */
  labels: string[];
  /** The partition GUID of the partition labelled USR-A (lower case). */
  usrAUuid: string;
  /** Bytes 64..127 of /flatcar/vmlinuz-a on the ESP (the verity hash, as text). */
  kernelHash: string;
  /** /flatcar/first_boot still on the ESP. */
  firstBootFlag: boolean;
  /** grub.cfg on the OEM partition, null when there is none. */
  oemGrubCfg: string | null;
}

export async function readInstalledDisk(qcow2: string): Promise<InstalledDisk> {
  const raw = await toRaw(qcow2);
  const part = `${qcow2}.part`;
  try {
    const table = JSON.parse(await run('sfdisk', ['-J', raw])) as {
      partitiontable: { partitions: Array<{ start: number; size: number; name?: string; uuid?: string }> };
    };
    const parts = table.partitiontable.partitions;
    const byName = (name: string) => {
      const p = parts.find((x) => x.name === name);
      if (!p) throw new Error(`${qcow2}: no partition labelled ${name}`);
      return p;
    };
    const extract = async (name: string) => {
      const p = byName(name);
      await run('dd', [
        `if=${raw}`,
        `of=${part}`,
        'bs=512',
        `skip=${p.start}`,
        `count=${p.size}`,
        'status=none',
      ]);
    };
    await extract('EFI-SYSTEM');
    const kernel = Buffer.from(
      await run('sh', [
        '-c',
        'mcopy -n -i "$1" ::/flatcar/vmlinuz-a - | head -c 128 | base64 -w0',
        'sh',
        part,
      ]),
      'base64',
    );
    const esp = await run('mdir', ['-b', '-i', part, '::/flatcar']).catch(() => '');
    await extract('OEM');
    const grub = await run('debugfs', ['-R', 'cat /grub.cfg', part]).catch(() => '');
    const hasGrub = (await run('debugfs', ['-R', 'ls -l /', part]).catch(() => '')).includes('grub.cfg');
    return {
      labels: parts.map((p) => p.name ?? ''),
      usrAUuid: (byName('USR-A').uuid ?? '').toLowerCase(),
      kernelHash: kernel.subarray(64, 128).toString('latin1'),
      firstBootFlag: /first_boot/.test(esp),
      oemGrubCfg: hasGrub ? grub : null,
    };
  } finally {
    await rm(raw, { force: true });
    await rm(part, { force: true });
  }
}

/**
 * The first-boot command line Flatcar's GRUB builds (flatcar/scripts build_library/grub.cfg)
 * for USR-A, from what is on the disk; computed here independently of railyard's handoff.sh.
 * `console` stands for linux_console when the OEM grub.cfg sets none (the live system's).
 */
export function grubFirstBootCmdline(disk: InstalledDisk, console: string): string {
  const vars: Record<string, string> = {
    linux_root: 'root=LABEL=ROOT',
    linux_console: '',
    oem_id: '',
    linux_append: '',
  };
  for (const line of (disk.oemGrubCfg ?? '').split('\n')) {
    const m = /^\s*set ([A-Za-z_]\w*)="(.*)"\s*$/.exec(line);
    if (m) vars[m[1]!] = m[2]!.replace(/\$\{?([A-Za-z_]\w*)\}?/g, (_, n: string) => vars[n] ?? '');
  }
  return [
    'BOOT_IMAGE=/flatcar/vmlinuz-a mount.usr=/dev/mapper/usr',
    `verity.usr=PARTUUID=${disk.usrAUuid} rootflags=rw mount.usrflags=ro consoleblank=0`,
    vars['linux_root'],
    vars['linux_console'] || console,
    'flatcar.first_boot=detected',
    vars['oem_id'] ? `flatcar.oem.id=${vars['oem_id']}` : '',
    vars['linux_append'],
    `verity.usrhash=${disk.kernelHash}`,
  ]
    .join(' ')
    .split(/\s+/)
    .filter((w) => w !== '')
    .join(' ');
}
