// Part 5: the image pipeline on a Flatcar-like image (8 GiB; quick: 1 GiB). (a) The mirror's
// one-time cost per release: the real derivation (worker, lbzip2, zstd; bmap, spans, digests).
// (b) The node's install pipeline, bzip2 / lbzip2 (+ dd, what flatcar-install runs) against
// zstd dense and zstd + map (what write-image.sh runs), written to a file on tmpfs and to a
// loop device; seconds, CPU seconds, bytes written, ratios to lbzip2 + dd in the same run.
// (c) zstd level and --long, the measurement behind mirror.zstdLevel / zstdLong.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../server/log.ts';
import { deriveImage } from '../server/mirror/derive.ts';
import { DERIVED_DIR, DERIVED_FILES, type DerivedManifest } from '../server/mirror/derived.ts';
import { type BenchContext, goal, type Part, type PartReport, table } from './lib/context.ts';
import { type BenchImage, benchImage, clearDerived } from './lib/flatcar-image.ts';
import {
  dirty,
  type Inputs,
  loopTarget,
  PATHS,
  type PathName,
  type RunResult,
  runPath,
  type Target,
  tmpfsTarget,
} from './lib/pipelines.ts';
import { runOk, tempDir } from './lib/procs.ts';
import { fmt, fmtSummary, summarize } from './lib/stats.ts';
import { levelSweep } from './lib/zstd-levels.ts';

const GiB = 1024 ** 3;

interface MirrorCost {
  seconds: number[];
  cpu: number[];
  manifest: DerivedManifest;
}

async function mirrorCost(image: BenchImage, ctx: BenchContext): Promise<MirrorCost> {
  const out: MirrorCost = { seconds: [], cpu: [], manifest: undefined as unknown as DerivedManifest };
  const runs = ctx.quick ? 2 : 3;
  for (let i = 0; i < runs; i++) {
    clearDerived(image);
    const settings = { level: 3, long: 0, threads: 0 }; // the config defaults (mirror.zstdLevel, zstdLong, deriveThreads)
    const ctxDerive = {
      settings,
      log: silentLogger(),
      trashDir: join(image.versionDir, '..', 'trash'),
      worker: { niceness: 0 },
    };
    out.manifest = await deriveImage(ctxDerive, image.versionDir);
    out.seconds.push(out.manifest.seconds);
    out.cpu.push(out.manifest.cpuSeconds);
    ctx.log(
      `install: mirror derivation ${i + 1}/${runs}: ${out.manifest.seconds} s, ${out.manifest.cpuSeconds} CPU s`,
    );
  }
  return out;
}

function inputsOf(image: BenchImage, m: DerivedManifest): Inputs {
  const d = join(image.versionDir, DERIVED_DIR);
  return {
    bz2: image.bz2,
    zst: join(d, DERIVED_FILES.zst),
    mapped: join(d, DERIVED_FILES.mapped),
    spans: join(d, DERIVED_FILES.spans),
    zstSha256: m.zst.sha256,
    mappedSha256: m.mapped.sha256,
    spansSha256: m.spans.dataSha256,
    rawSize: m.image.size,
  };
}

type Results = Record<PathName, RunResult[]>;

/** Every path, rounds in alternating order; the first run of each path is also compared to the raw image. */
async function measure(
  target: Target,
  image: BenchImage,
  inputs: Inputs,
  ctx: BenchContext,
  work: string,
): Promise<Results> {
  const results = Object.fromEntries(PATHS.map((p) => [p, [] as RunResult[]])) as unknown as Results;
  if (target.kind === 'loop device') await dirty(target, inputs.rawSize);
  for (let round = 0; round < ctx.runs; round++) {
    const order = round % 2 ? [...PATHS].reverse() : [...PATHS];
    for (const path of order) {
      const r = await runPath(path, target, inputs, work);
      if (round === 0) await runOk('cmp', ['-n', String(inputs.rawSize), target.path, image.raw]);
      results[path].push(r);
    }
    ctx.log(`install: ${target.kind} round ${round + 1}/${ctx.runs}`);
  }
  target.cleanup();
  return results;
}

export const installPipeline: Part = {
  id: 'install',
  title: '5. Image pipeline: mirror derivation and the install write (Flatcar-like image)',
  async run(ctx) {
    const image = await benchImage(ctx.quick, ctx.log);
    const cost = await mirrorCost(image, ctx);
    const inputs = inputsOf(image, cost.manifest);
    const shm = tempDirIn('/dev/shm', 'install');
    const disk = tempDir('install-loop');
    const tmpfs = await measure(tmpfsTarget(shm, inputs.rawSize), image, inputs, ctx, shm);
    const loop = await measure(loopTarget(disk, inputs.rawSize), image, inputs, ctx, shm);
    const sweep = await levelSweep(image.raw, ctx.quick ? [3, 9] : [1, 3, 6, 9, 12, 15], shm, ctx.log);
    rmSync(shm, { recursive: true, force: true });
    return report(cost, { 'tmpfs file': tmpfs, 'loop device': loop }, sweep, ctx.quick);
  },
};

function tempDirIn(parent: string, label: string): string {
  const dir = join(parent, `railyard-bench-${label}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function report(
  cost: MirrorCost,
  targets: Record<string, Results>,
  sweep: string,
  quick: boolean,
): PartReport {
  const m = cost.manifest;
  const raw = m.image.size;
  const goals: string[] = [];
  const sections: string[] = [];
  let lbzip2Wall = Number.NaN;
  for (const [kind, results] of Object.entries(targets)) {
    const ref = summarize(results['lbzip2 + dd'].map((r) => r.seconds)).median;
    const refCpu = summarize(results['lbzip2 + dd'].map((r) => r.cpu)).median;
    if (kind === 'tmpfs file') lbzip2Wall = ref;
    const rows = PATHS.map((p) => {
      const s = summarize(results[p].map((r) => r.seconds));
      const c = summarize(results[p].map((r) => r.cpu));
      const w = summarize(results[p].map((r) => r.written)).median;
      return [
        `\`${p}\``,
        fmtSummary(s, 2),
        fmtSummary(c, 2),
        `${fmt(w / GiB, 2)} GiB`,
        `${fmt((w / raw) * 100, 1)} %`,
        `${fmt(ref / s.median, 1)}×`,
        `${fmt(refCpu / c.median, 1)}×`,
      ];
    });
    const map = results['zstd + map'];
    const speedup = ref / summarize(map.map((r) => r.seconds)).median;
    const share = summarize(map.map((r) => r.written)).median / raw;
    goals.push(
      goal(speedup >= 10, `${kind}: zstd + map ≥ 10× faster than lbzip2 + dd — ${fmt(speedup, 1)}×`),
    );
    goals.push(goal(share <= 0.15, `${kind}: bytes written ≤ 15 % of raw — ${fmt(share * 100, 1)} %`));
    const zeroed = map[0]?.zeroed
      ? ` BLKZEROOUT zeroed ${fmt((map[0]?.zeroed ?? 0) / GiB, 2)} GiB first (the device does it; no data crosses, not counted as written).`
      : '';
    sections.push(
      `### ${kind}${kind === 'loop device' ? " (backed by a file on this VM's ext4 disk; sync included)" : ' (/dev/shm)'}\n\n` +
        `Bytes written: ${kind === 'tmpfs file' ? 'blocks allocated in a fresh file' : "the device's sectors-written counter"}.${zeroed}\n\n` +
        table(
          ['path', 'seconds', 'CPU s', 'bytes written', 'of raw', 'faster than lbzip2 + dd', 'less CPU'],
          rows,
        ),
    );
  }
  const costRow = [
    fmtSummary(summarize(cost.seconds), 1),
    fmtSummary(summarize(cost.cpu), 1),
    `${fmt(summarize(cost.seconds).median / lbzip2Wall, 1)}×`,
    `${fmt(m.source.size / 2 ** 20, 0)} MiB`,
    `${fmt(m.zst.size / 2 ** 20, 0)} MiB (${fmt(raw / m.zst.size, 1)}× smaller than raw); .mapped.zst ${fmt(m.mapped.size / 2 ** 20, 0)} MiB`,
    `${fmt((m.image.mappedBlocks * m.image.blockSize) / 2 ** 20, 0)} MiB in ${m.image.ranges} ranges`,
    `${m.spans.count} spans, ${fmt(m.spans.bytes / 2 ** 20, 0)} MiB`,
  ];
  const body = [
    `Image: ${fmt(raw / GiB, 2)} GiB raw${quick ? ' — **quick mode: 1/8 of the full 8 GiB layout**' : ''}, ` +
      `Flatcar's Oct 2025 partition layout (server/mirror/testing/flatcar-like.ts: EFI 1 GiB, BIOS-BOOT, USR-A 2 GiB with ` +
      `btrfs metadata runs, data extents and a verity tree, USR-B empty, OEM (a real ext4 labelled OEM here, btrfs on Flatcar), OEM-CONFIG, ROOT ext4 group headers), ` +
      `${fmt((m.image.mappedBlocks * m.image.blockSize) / GiB, 2)} GiB of incompressible data, the rest zeros; .bz2 made once with \`lbzip2 -9\`. ` +
      `Tools: ${zstdVersion()}, the Debian CLIs spawned (no npm zstd binding is used).`,
    '',
    '### Mirror: one-time cost per release',
    '',
    'The real derivation (`deriveImage`: the worker process, `lbzip2 -dc`, block map + SHA-256, `zstd -3 -T0` of the image ' +
      "and of the spans' bytes, then the round trip of both (`zstd -dc` + SHA-256), bmap, spans, SHA256SUMS) at nice 0 here (railyard runs it at nice 19). " +
      `${cost.seconds.length} runs. CPU = worker + its children.`,
    '',
    table(
      ['seconds', 'CPU s', 'vs one lbzip2 + dd (tmpfs)', '.bz2', '.zst', 'map (bmap)', 'read-back'],
      [costRow],
    ),
    '',
    '### Node: the install write',
    '',
    'Commands as the installer runs them, the compressed file read from disk cache (network excluded, the same for every ' +
      'path). `bzip2 + dd`, `lbzip2 + dd`: `bzip2 -dc | dd bs=1M` / `lbzip2 -dc -n 2 | dd bs=1M` (flatcar-install, without ' +
      'its gpg check, which only favours them). `zstd dense`: `tee -p >(openssl dgst -sha256) | zstd -dc | dd bs=1M`, then ' +
      'the read-back of the spans (O_DIRECT on the loop device) and its SHA-256. `zstd + map`: `blkdiscard -z` of the image ' +
      "span (loop device; a fresh file on tmpfs), then the `.mapped.zst` (the spans' bytes only): `tee -p >(openssl …) | " +
      'zstd -dc | while read off len; do dd of=TARGET seek=off count=len iflag=fullblock,count_bytes …; done`, the same read-back. ' +
      "Each path's first run is also compared byte for byte (`cmp`) with the raw image; the loop device is filled with " +
      `0xFF first. ${Object.values(targets)[0]?.['zstd + map'].length} measured runs per path, alternating order. ` +
      'Ratios: lbzip2 + dd median / path median.',
    '',
    ...sections.flatMap((s) => [s, '']),
    '### zstd level and --long (the measurement behind `mirror.zstdLevel: 3`, `mirror.zstdLong: 0`)',
    '',
    sweep,
  ].join('\n');
  return { title: installPipeline.title, body, goals };
}

function zstdVersion(): string {
  return execFileSync('zstd', ['--version'], { encoding: 'utf8' })
    .trim()
    .replace(/^\*+ | \*+$/g, '');
}
