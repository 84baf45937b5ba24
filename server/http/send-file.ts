// Stream a byte range of a file to a Node HTTP response through a pool of reused buffers.
// Why not fs.createReadStream().pipe(): it allocates a fresh buffer per chunk, and at GB/s
// that allocation and the garbage collection it triggers cost as much CPU as the copying.
// Why read synchronously: a page-cached 128 KiB read is a ~15 µs copy, but an async read is
// a thread-pool round trip (wake a worker, wait, wake the loop) that at 128 downloads cost
// the event loop more than its socket writes (profiles in BENCHMARKS.md, issue 18). A read
// that is slow (the page cache missed: disk I/O) switches every download to async reads for
// a while, so a cold file blocks the event loop for one chunk at a time, at most ~once per
// ASYNC_FOR_MS. See buffer-pool.ts for where the buffers come from.
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { release, take } from './buffer-pool.ts';

/** A synchronous read slower than this was not served from the page cache. */
const SLOW_READ_MS = 8;
/** After a slow read, reads are async for this long. */
const ASYNC_FOR_MS = 250;
let asyncUntil = 0;

/** Read asynchronously (thread pool) for the next `ms` (0: from now on synchronously again). */
export function preferAsyncReads(ms: number): void {
  asyncUntil = performance.now() + ms;
}

export interface SendProgress {
  /** Bytes read from the file and handed to the response so far. */
  sent: number;
  /** Called after each chunk with the running total (dashboard image progress). */
  onChunk?: ((sent: number) => void) | undefined;
}

/**
 * Write bytes start..end (inclusive) of the opened `file` (named `path` in errors), then end
 * the response, and close the file. Returns when done or
 * when the response closed early (client gone); rejects on a read error or a file that
 * ended early, leaving the response for the caller to destroy. A buffer goes back to the
 * pool only once its write has completed (write callback), never while the socket holds it.
 */
export async function sendFileRange(
  out: ServerResponse,
  file: FileHandle,
  path: string,
  start: number,
  end: number,
  progress: SendProgress,
): Promise<void> {
  try {
    for (let pos = start; pos <= end && !out.destroyed; ) {
      const buf = take();
      const want = Math.min(buf.length, end - pos + 1);
      let bytesRead: number;
      try {
        bytesRead = await read(file, buf, want, pos);
      } catch (err) {
        release(buf);
        throw err;
      }
      if (bytesRead === 0) {
        release(buf);
        throw new Error(`${path}: file ended at ${pos}, expected ${end + 1} bytes`);
      }
      pos += bytesRead;
      progress.sent += bytesRead;
      progress.onChunk?.(progress.sent);
      const flushed = out.write(buf.subarray(0, bytesRead), () => release(buf));
      if (!flushed && !out.destroyed) await drainOrClose(out);
      // the socket took it all: let other requests run before the next synchronous read
      else if (pos <= end) await new Promise(setImmediate);
    }
    if (!out.destroyed) out.end();
  } finally {
    await file.close();
  }
}

/** A synchronous read while reads are fast (page cache), else the thread pool's. */
function read(file: FileHandle, buf: Buffer, length: number, pos: number): number | Promise<number> {
  const t0 = performance.now();
  if (t0 < asyncUntil) return file.read(buf, 0, length, pos).then((r) => r.bytesRead);
  const n = readSync(file.fd, buf, 0, length, pos);
  if (performance.now() - t0 > SLOW_READ_MS) preferAsyncReads(ASYNC_FOR_MS);
  return n;
}

function drainOrClose(out: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
