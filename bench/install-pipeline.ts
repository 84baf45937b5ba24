// Part 5: what a node does with the image — decompress and write. A synthetic Flatcar-like
// image (random data, then zeros) is compressed once (cached under .cache/bench/), then
// `bzip2 -dc`, `lbzip2 -dc -n 2` and `zstd -dc` write it to a file, each under /usr/bin/time.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
  truncateSync,
} from 'node:fs';
import { join } from 'node:path';
import { type Part, type PartReport, table } from './lib/context.ts';
import { writeRandomFile } from './lib/fixture.ts';
import { run, runOk, tempDir } from './lib/procs.ts';
import { REPO } from './lib/servers.ts';
import { fmt, fmtSummary, ratio, summarize } from './lib/stats.ts';

const MiB = 1024 * 1024;
const TOOLS: Record<string, { ext: string; args: string[] }> = {
  'bzip2 -dc': { ext: 'bz2', args: ['bzip2', '-dc'] },
  'lbzip2 -dc -n 2': { ext: 'bz2', args: ['lbzip2', '-dc', '-n', '2'] },
  'zstd -dc': { ext: 'zst', args: ['zstd', '-dc'] },
};

interface Image {
  totalBytes: number;
  randomBytes: number;
  files: Record<string, string>; // ext → compressed file
}

/** Compress once per image shape; later runs reuse the cache. */
export async function cachedImage(
  totalBytes: number,
  randomBytes: number,
  log: (m: string) => void,
): Promise<Image> {
  const cache = join(REPO, '.cache/bench');
  mkdirSync(cache, { recursive: true });
  const stem = join(cache, `image-${totalBytes / MiB}m-${randomBytes / MiB}m-random.img`);
  const files = { bz2: `${stem}.bz2`, zst: `${stem}.zst` };
  if (!existsSync(files.bz2) || !existsSync(files.zst)) {
    log(`install: building and compressing the ${totalBytes / MiB} MiB image (once; cached in ${cache})`);
    writeRandomFile(stem, randomBytes);
    truncateSync(stem, totalBytes); // the zeros are a hole: cheap to create, read back as zeros
    for (const [ext, cmd] of [
      ['bz2', ['lbzip2', '-n', '2', '-9', '-c', stem]],
      ['zst', ['zstd', '-T2', '-q', '-c', stem]],
    ] as const) {
      const fd = openSync(`${files[ext]}.part`, 'w');
      try {
        const r = await run(cmd[0], cmd.slice(1), { stdio: ['ignore', fd, 'pipe'] });
        if (r.code !== 0) throw new Error(`${cmd.join(' ')}: exit ${r.code} ${r.stderr}`);
      } finally {
        closeSync(fd);
      }
      renameSync(`${files[ext]}.part`, files[ext]);
    }
    rmSync(stem);
  }
  return { totalBytes, randomBytes, files };
}

/** Seconds and CPU seconds for one decompress-and-write. */
async function decompress(tool: string, input: string, output: string, timeFile: string) {
  const fd = openSync(output, 'w');
  const started = performance.now();
  try {
    const { args } = TOOLS[tool]!;
    await runOk('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, ...args, input], {
      stdio: ['ignore', fd, 'pipe'],
    });
  } finally {
    closeSync(fd);
  }
  const seconds = (performance.now() - started) / 1000;
  const [u, s] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).map(Number);
  rmSync(output);
  return { seconds, cpu: (u ?? 0) + (s ?? 0) };
}

export const installPipeline: Part = {
  id: 'install',
  title: '5. Install pipeline (decompress and write)',
  async run(ctx) {
    const total = (ctx.quick ? 128 : 4096) * MiB;
    const random = (ctx.quick ? 19 : 600) * MiB;
    const image = await cachedImage(total, random, ctx.log);
    // Output on tmpfs when it has room: the figure is the decompressor, not this VM's disk.
    const shm = statfsSync('/dev/shm');
    const outDir = shm.bavail * shm.bsize > total * 1.5 ? tempDirIn('/dev/shm') : tempDir('install');
    const times: Record<string, { seconds: number[]; cpu: number[] }> = {};
    for (const tool of Object.keys(TOOLS)) times[tool] = { seconds: [], cpu: [] };
    for (let i = 0; i <= ctx.runs; i++) {
      const order = Object.keys(TOOLS);
      if (i % 2) order.reverse();
      for (const tool of order) {
        const input = image.files[TOOLS[tool]!.ext as 'bz2' | 'zst'];
        const r = await decompress(tool, input!, join(outDir, 'disk.img'), join(outDir, 'time.txt'));
        if (i > 0) {
          times[tool]!.seconds.push(r.seconds);
          times[tool]!.cpu.push(r.cpu);
        }
      }
      ctx.log(`install run ${i}/${ctx.runs}`);
    }
    return report(image, times, outDir.startsWith('/dev/shm'), ctx.quick);
  },
};

function tempDirIn(parent: string): string {
  const prev = process.env['TMPDIR'];
  process.env['TMPDIR'] = parent;
  try {
    return tempDir('install');
  } finally {
    if (prev === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = prev;
  }
}

function report(
  image: Image,
  times: Record<string, { seconds: number[]; cpu: number[] }>,
  onShm: boolean,
  quick: boolean,
): PartReport {
  const base = summarize(times['bzip2 -dc']!.seconds).median;
  const rows = Object.entries(times).map(([tool, t]) => {
    const s = summarize(t.seconds);
    return [
      `\`${tool}\``,
      fmtSummary(s, 2),
      fmt(image.totalBytes / s.median / 1e6, 0),
      fmtSummary(summarize(t.cpu), 2),
      ratio(s.median, base),
    ];
  });
  const sizes = Object.entries(image.files)
    .map(([ext, f]) => `${ext} ${(statSize(f) / MiB).toFixed(0)} MiB`)
    .join(', ');
  const body = [
    `Image: ${image.totalBytes / MiB} MiB, the first ${image.randomBytes / MiB} MiB random, the rest zeros ` +
      `(like a Flatcar image)${quick ? ' — **quick mode: a smaller image than the full 4 GiB one**' : ''}. ` +
      `Compressed once with \`lbzip2 -9\` (bzip2 format, readable by bzip2) and \`zstd -3\`: ${sizes}. ` +
      `Written to a file on ${onShm ? 'tmpfs (/dev/shm), so the disk of this VM is out of the figure' : 'the temp dir'}. ` +
      'Ratio = seconds / bzip2 seconds (lower is faster). CPU = user + system seconds from /usr/bin/time.',
    '',
    table(['tool', 'seconds', 'MB/s (output)', 'CPU s', 'time ratio to bzip2'], rows),
  ].join('\n');
  return { title: installPipeline.title, body, goals: ['baseline only, no goal'] };
}

function statSize(file: string): number {
  return statSync(file).size;
}
