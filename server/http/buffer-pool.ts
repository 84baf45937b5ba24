// The 128 KiB read buffers of send-file.ts, reused. A buffer is in flight from its read until
// its socket write completes; at 128 downloads that is ~128 of them (16 MiB; 256 KiB chunks
// cost the same CPU per MB with synchronous reads but twice the memory). The pool keeps what
// the peak needed (up to POOL_MAX) instead of dropping buffers beyond a small cap: dropped
// buffers are external memory that V8 frees only at its next GC, and at 128 clients that churn
// raised peak RSS by ~30 MiB over what was in flight (issue 18). Buffers no download took
// during a whole TRIM_MS are released, so a burst does not hold its memory for ever.
export const CHUNK = 128 * 1024;
/** Idle buffers kept at most (32 MiB). */
const POOL_MAX = 256;
const TRIM_MS = 10_000;

const pool: Buffer[] = [];
/** The fewest idle buffers since the last trim: that many were not needed. */
let lowWater = 0;
let timer: NodeJS.Timeout | undefined;

export function take(): Buffer {
  const buf = pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
  if (pool.length < lowWater) lowWater = pool.length;
  timer ??= setInterval(trim, TRIM_MS).unref();
  return buf;
}

export function release(buf: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(buf);
}

/** Idle buffers now (tests). */
export function idleBuffers(): number {
  return pool.length;
}

/** Drop the buffers that stayed idle since the last trim; the timer stops with the pool empty. */
export function trim(): void {
  pool.splice(0, lowWater);
  lowWater = pool.length;
  if (pool.length === 0 && timer) {
    clearInterval(timer);
    timer = undefined;
  }
}
