// The bench's Flatcar-like release image, built once and cached under .cache/bench/: the raw
// image (a sparse file: ≈0.6 GiB of pseudo-random data where Flatcar's filesystems keep theirs,
// zeros elsewhere, a GPT with Flatcar's partitions, and a real ext4 labelled OEM in the OEM
// partition, so a flatcar-install can place its Ignition config) and its .bz2 (`lbzip2 -9`,
// bzip2 format), laid out as a mirror version directory so the mirror's own derivation can run
// on it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SOURCE_IMAGE } from '../../server/mirror/derived.ts';
import {
  dataBytes,
  flatcarLayout,
  type ImageLayout,
  writeImage,
} from '../../server/mirror/testing/flatcar-like.ts';
import { runOk } from './procs.ts';
import { REPO } from './servers.ts';

const MiB = 1024 * 1024;

export interface BenchImage {
  layout: ImageLayout;
  raw: string;
  /** A version directory holding only the .bz2 (derived files go beside it). */
  versionDir: string;
  bz2: string;
}

/** The 8 GiB layout, or (quick) the same shape at 1/8 scale. */
export function benchLayout(quick: boolean): ImageLayout {
  const full = flatcarLayout();
  if (!quick) return full;
  const k = (n: number) => Math.max(4096, Math.floor(n / 8 / 4096) * 4096);
  return {
    size: full.size / 8,
    segments: full.segments.map((s) => ({ offset: k(s.offset), length: k(s.length) })),
    partitions: full.partitions.map((p) => ({ ...p, start: k(p.start), size: k(p.size) })),
  };
}

export async function benchImage(quick: boolean, log: (m: string) => void): Promise<BenchImage> {
  const layout = benchLayout(quick);
  const dir = join(REPO, '.cache/bench', `flatcar-like-${layout.size / MiB}m-v2`);
  const raw = join(dir, 'flatcar_production_image.bin');
  const versionDir = join(dir, 'release');
  const bz2 = join(versionDir, SOURCE_IMAGE);
  if (!existsSync(bz2)) {
    log(
      `install: building the ${layout.size / MiB} MiB Flatcar-like image and its .bz2 (once; cached in ${dir})`,
    );
    mkdirSync(versionDir, { recursive: true });
    writeImage(raw, layout);
    const gpt = layout.partitions.flatMap((p, i) => [
      `-n${i + 1}:${p.start / 512}:${(p.start + p.size) / 512 - 1}`,
      `-t${i + 1}:${p.type}`,
      `-c${i + 1}:${p.label}`,
    ]);
    execFileSync('sgdisk', ['-o', '-a', '1', ...gpt, raw], { stdio: 'ignore' });
    const oem = layout.partitions.find((p) => p.label === 'OEM');
    if (oem)
      execFileSync(
        'mkfs.ext4',
        ['-q', '-F', '-L', 'OEM', '-E', `offset=${oem.start},nodiscard`, raw, `${oem.size / 1024}k`],
        { stdio: 'ignore' },
      );
    await runOk('bash', ['-c', `set -o pipefail; lbzip2 -9 -n 2 -c "${raw}" > "${bz2}.part"`]);
    renameSync(`${bz2}.part`, bz2);
  }
  log(
    `install: image ${layout.size / MiB} MiB, ${(dataBytes(layout) / MiB).toFixed(0)} MiB of data in ${layout.segments.length} segments`,
  );
  return { layout, raw, versionDir, bz2 };
}

/** Drop what an earlier bench run derived, so the mirror cost is measured from scratch. */
export function clearDerived(image: BenchImage): void {
  for (const name of ['railyard', '.railyard.partial'])
    rmSync(join(image.versionDir, name), { recursive: true, force: true });
}
