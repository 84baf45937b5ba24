// The derivation's heavy work, run inside the low-priority worker process (derive-worker.ts):
// one streaming pass  verified .bz2 → SHA-512 → lbzip2 -dc → block map + raw SHA-256 → zstd
// → SHA-256 → <zst>.part, with the spans' bytes (the map writer's stream) → a second zstd →
// SHA-256 → <mapped>.part; then fsync and rename. And the round-trip check: a .zst → zstd -dc
// → size and SHA-256 of what it decodes to. Child processes inherit the worker's nice value.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlockMapBuilder, type ImageMap } from './block-map.ts';

export interface PassJob {
  kind: 'pass';
  bz2: string;
  /** Final path of the .zst; written as `<zst>.part` first. */
  zst: string;
  /** Final path of the spans' bytes, zstd-compressed (`.mapped.zst`). */
  mapped: string;
  level: number;
  /** zstd --long window log; 0 = off. */
  long: number;
  /** zstd and lbzip2 threads; 0 = one per core. */
  threads: number;
}

export interface RoundTripJob {
  kind: 'roundtrip';
  files: string[];
}

export type WorkerJob = PassJob | RoundTripJob;

export interface PassResult {
  kind: 'pass';
  source: { size: number; sha512: string };
  map: ImageMap;
  zst: { size: number; sha256: string };
  mapped: { size: number; sha256: string };
  decompressor: string;
}

export interface RoundTripResult {
  kind: 'roundtrip';
  /** Per file of the job: what it decompresses to. */
  decoded: Array<{ size: number; sha256: string }>;
}

/** Hashes what flows through it. */
function hashing(algorithm: string): { stream: Transform; digest: () => string; bytes: () => number } {
  const hash = createHash(algorithm);
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex'), bytes: () => bytes };
}

export async function runPass(job: PassJob): Promise<PassResult> {
  const threads = Math.max(job.threads, 0);
  const zArgs = [
    '-q',
    `-T${threads}`,
    `-${job.level}`,
    ...(job.long > 0 ? [`--long=${job.long}`] : []),
    '-c',
  ];
  // lbzip2 (parallel) when installed, else bzip2: same output, lbzip2 is ~2x faster on 2 cores.
  let decompressor = 'lbzip2';
  let bz = child('lbzip2', threads > 0 ? ['-dc', '-n', String(threads)] : ['-dc']);
  if (!(await bz.spawned)) {
    decompressor = 'bzip2';
    bz = child('bzip2', ['-dc']);
  }
  const zs = child('zstd', zArgs);
  const zm = child('zstd', zArgs);
  const source = hashing('sha512');
  const output = hashing('sha256');
  const mapped = hashing('sha256');
  let mappedFull = false;
  let imageMap: ImageMap | undefined;
  const map = new BlockMapBuilder(undefined, (bytes) => {
    if (!zm.proc.stdin!.write(bytes)) mappedFull = true;
  });
  const feed = pipeline(createReadStream(job.bz2, { highWaterMark: 1 << 20 }), source.stream, bz.proc.stdin!);
  const scan = pipeline(
    bz.proc.stdout!,
    new Transform({
      highWaterMark: 1 << 20,
      transform(chunk: Buffer, _enc, done) {
        map.feed(chunk);
        if (!mappedFull) return done(null, chunk);
        mappedFull = false;
        zm.proc.stdin!.once('drain', () => done(null, chunk));
      },
      flush(done) {
        imageMap = map.finish(); // may still hand over the image's last block
        zm.proc.stdin!.end(() => done());
      },
    }),
    zs.proc.stdin!,
  );
  const writes = [
    pipeline(zs.proc.stdout!, output.stream, createWriteStream(`${job.zst}.part`)),
    pipeline(zm.proc.stdout!, mapped.stream, createWriteStream(`${job.mapped}.part`)),
  ];
  const steps = [feed, scan, ...writes, bz.done, zs.done, zm.done];
  for (const p of steps) p.catch(() => undefined); // the first failure is reported; the rest follow it
  try {
    await Promise.all(steps);
    for (const f of [job.zst, job.mapped]) {
      await fsyncFile(`${f}.part`);
      await rename(`${f}.part`, f);
    }
  } catch (err) {
    for (const c of [bz, zs, zm]) c.proc.kill('SIGKILL');
    for (const f of [job.zst, job.mapped]) await rm(`${f}.part`, { force: true });
    throw err;
  }
  return {
    kind: 'pass',
    source: { size: source.bytes(), sha512: source.digest() },
    map: imageMap!,
    zst: { size: output.bytes(), sha256: output.digest() },
    mapped: { size: mapped.bytes(), sha256: mapped.digest() },
    decompressor,
  };
}

/** Decompress written .zst files again and hash what they decode to. */
export async function runRoundTrip(job: RoundTripJob): Promise<RoundTripResult> {
  const decoded: RoundTripResult['decoded'] = [];
  for (const file of job.files) {
    const zs = child('zstd', ['-q', '-dc', '--long=31', file]);
    const raw = hashing('sha256');
    const sink = new Transform({ transform: (_c, _e, done) => done() });
    await Promise.all([pipeline(zs.proc.stdout!, raw.stream, sink), zs.done]);
    decoded.push({ size: raw.bytes(), sha256: raw.digest() });
  }
  return { kind: 'roundtrip', decoded };
}

interface Child {
  proc: ChildProcess;
  done: Promise<void>;
  /** False when the program is not installed (ENOENT). */
  spawned: Promise<boolean>;
}

/** A child process whose `done` rejects with its stderr when it exits non-zero. */
function child(cmd: string, args: string[]): Child {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  const done = new Promise<void>((resolve, reject) => {
    proc.once('error', (err) => reject(new Error(`${cmd}: ${err.message}`)));
    proc.once('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
  done.catch(() => undefined);
  const spawned = new Promise<boolean>((resolve) => {
    proc.once('spawn', () => resolve(true));
    proc.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'ENOENT'));
  });
  return { proc, done, spawned };
}

export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function fileSize(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => undefined))?.size;
}
