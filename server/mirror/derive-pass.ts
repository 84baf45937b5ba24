// The derivation's heavy work, run inside the low-priority worker process (derive-worker.ts):
// one streaming pass  verified .bz2 → SHA-512 → lbzip2 -dc → block map + raw SHA-256 → zstd
// → SHA-256 → <out>.part, then fsync and rename; and the round-trip check  .zst → zstd -dc →
// SHA-256 of the raw image. Child processes inherit the worker's nice value.
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
  level: number;
  /** zstd --long window log; 0 = off. */
  long: number;
  /** zstd and lbzip2 threads; 0 = one per core. */
  threads: number;
}

export interface RoundTripJob {
  kind: 'roundtrip';
  zst: string;
}

export type WorkerJob = PassJob | RoundTripJob;

export interface PassResult {
  kind: 'pass';
  source: { size: number; sha512: string };
  map: ImageMap;
  zst: { size: number; sha256: string };
  decompressor: string;
}

export interface RoundTripResult {
  kind: 'roundtrip';
  size: number;
  sha256: string;
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
  const part = `${job.zst}.part`;
  const source = hashing('sha512');
  const output = hashing('sha256');
  const map = new BlockMapBuilder();
  const feed = pipeline(createReadStream(job.bz2, { highWaterMark: 1 << 20 }), source.stream, bz.proc.stdin!);
  const scan = pipeline(
    bz.proc.stdout!,
    new Transform({
      highWaterMark: 1 << 20,
      transform(chunk: Buffer, _enc, done) {
        map.feed(chunk);
        done(null, chunk);
      },
    }),
    zs.proc.stdin!,
  );
  const write = pipeline(zs.proc.stdout!, output.stream, createWriteStream(part));
  const steps = [feed, scan, write, bz.done, zs.done];
  for (const p of steps) p.catch(() => undefined); // the first failure is reported; the rest follow it
  try {
    await Promise.all(steps);
    await fsyncFile(part);
    await rename(part, job.zst);
  } catch (err) {
    bz.proc.kill('SIGKILL');
    zs.proc.kill('SIGKILL');
    await rm(part, { force: true });
    throw err;
  }
  return {
    kind: 'pass',
    source: { size: source.bytes(), sha512: source.digest() },
    map: map.finish(),
    zst: { size: output.bytes(), sha256: output.digest() },
    decompressor,
  };
}

/** Decompress the written .zst again and hash the raw image it yields. */
export async function runRoundTrip(job: RoundTripJob): Promise<RoundTripResult> {
  const zs = child('zstd', ['-q', '-dc', '--long=31', job.zst]);
  const raw = hashing('sha256');
  const sink = new Transform({ transform: (_c, _e, done) => done() });
  await Promise.all([pipeline(zs.proc.stdout!, raw.stream, sink), zs.done]);
  return { kind: 'roundtrip', size: raw.bytes(), sha256: raw.digest() };
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
