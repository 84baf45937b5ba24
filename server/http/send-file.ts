// Stream a byte range of a file to a Node HTTP response through a small pool of reused
// buffers. Why not fs.createReadStream().pipe(): it allocates a fresh 256 KiB buffer per
// chunk, and at GB/s that allocation and the garbage collection it triggers cost as much
// CPU as the copying itself (profile of 512 MiB downloads, see BENCHMARKS.md).
import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';

const CHUNK = 256 * 1024;
/** Idle buffers kept for reuse (16 MiB at most); in-flight ones are ~2 per download. */
const POOL_MAX = 64;
const pool: Buffer[] = [];

function release(buf: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(buf);
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
      const buf = pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
      const { bytesRead } = await file.read(buf, 0, Math.min(CHUNK, end - pos + 1), pos);
      if (bytesRead === 0) {
        release(buf);
        throw new Error(`${path}: file ended at ${pos}, expected ${end + 1} bytes`);
      }
      pos += bytesRead;
      progress.sent += bytesRead;
      progress.onChunk?.(progress.sent);
      const flushed = out.write(buf.subarray(0, bytesRead), () => release(buf));
      if (!flushed && !out.destroyed) await drainOrClose(out);
    }
    if (!out.destroyed) out.end();
  } finally {
    await file.close();
  }
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
