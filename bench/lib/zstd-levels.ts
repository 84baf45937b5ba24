// zstd level and --long: output size, compression seconds and CPU (-T2, as the mirror runs it
// on this machine), decompression seconds, on two inputs: the raw Flatcar-like image (its data
// incompressible, as most of a Flatcar image is: /usr is zstd-compressed btrfs, the kernel is
// compressed) and a 1 GiB mix with compressible data (100 MiB pseudo-random + 28 MiB of this
// machine's /usr/lib shared objects, zeros after). One run each: the spread between levels is
// far larger than the run-to-run noise.
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { table } from './context.ts';
import { runOk } from './procs.ts';
import { fmt } from './stats.ts';

async function timed(dir: string, args: string[]): Promise<{ seconds: number; cpu: number }> {
  const started = performance.now();
  await runOk('/usr/bin/time', ['-f', '%U %S', '-o', join(dir, 'time.txt'), ...args]);
  const [u, s] = readFileSync(join(dir, 'time.txt'), 'utf8').trim().split(/\s+/).map(Number);
  return { seconds: (performance.now() - started) / 1000, cpu: (u ?? 0) + (s ?? 0) };
}

async function mixedSample(dir: string): Promise<string> {
  const file = join(dir, 'mixed.img');
  const libs =
    "find /usr/lib/x86_64-linux-gnu -name '*.so*' -type f -size +100k | sort | head -400 | xargs cat";
  await runOk('bash', [
    '-c',
    `{ head -c 64M /dev/zero; openssl enc -aes-256-ctr -pass pass:railyard -nosalt -pbkdf2 < /dev/zero 2>/dev/null | head -c 100M; ` +
      `${libs} 2>/dev/null | head -c 28M; } > "${file}"; truncate -s 1G "${file}"`,
  ]);
  return file;
}

async function sweepOne(
  input: string,
  levels: number[],
  dir: string,
  log: (m: string) => void,
): Promise<string[][]> {
  const out = join(dir, 'sweep.zst');
  const rows: Array<{ flags: string[]; size: number; c: { seconds: number; cpu: number }; d: number }> = [];
  for (const level of levels) {
    for (const long of [0, 27]) {
      const flags = [`-${level}`, ...(long ? [`--long=${long}`] : [])];
      const c = await timed(dir, ['zstd', '-q', '-f', '-T2', ...flags, input, '-o', out]);
      const size = statSync(out).size;
      const d = await timed(dir, ['bash', '-c', `zstd -q -dc --long=31 "${out}" > /dev/null`]);
      rows.push({ flags, size, c, d: d.seconds });
      log(`install: zstd ${flags.join(' ')} on ${input}: ${size} bytes, ${fmt(c.seconds, 1)} s`);
    }
  }
  rmSync(out, { force: true });
  const base = rows.find((r) => r.flags.join(' ') === '-3')?.size ?? Number.NaN;
  return rows.map((r) => [
    `\`${r.flags.join(' ')}\``,
    `${fmt(r.size / 2 ** 20, 2)} MiB`,
    fmt((r.size / base - 1) * 100, 2),
    fmt(r.c.seconds, 1),
    fmt(r.c.cpu, 1),
    fmt(r.d, 2),
  ]);
}

export async function levelSweep(
  raw: string,
  levels: number[],
  dir: string,
  log: (m: string) => void,
): Promise<string> {
  const header = ['zstd', '.zst size', 'Δ size % vs -3', 'compress s', 'compress CPU s', 'decompress s'];
  const mixed = await mixedSample(dir);
  const parts = [
    ['the raw Flatcar-like image', await sweepOne(raw, levels, dir, log)],
    ['the 1 GiB compressible mix', await sweepOne(mixed, levels, dir, log)],
  ] as const;
  rmSync(mixed, { force: true });
  return parts.map(([what, rows]) => `On ${what}:\n\n${table(header, rows)}`).join('\n\n');
}
