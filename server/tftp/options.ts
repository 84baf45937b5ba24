// RFC 2347 option negotiation for a read request: blksize (RFC 2348), tsize and timeout
// (RFC 2349), windowsize (RFC 7440). Unknown options are skipped; out-of-range values are
// clamped, never refused; a value that is not a number drops that option from the OACK.

export interface OptionLimits {
  /** Largest blksize we accept (≤ 65464); 1468 keeps a block inside a 1500-byte MTU. */
  maxBlksize: number;
  maxWindowsize: number;
}

export interface Negotiated {
  blksize: number;
  windowsize: number;
  /** Retransmit timeout the client asked for (seconds), or undefined: our own adaptive one. */
  timeoutSec: number | undefined;
  /** Options to acknowledge in an OACK, in request order; empty: no OACK, start with DATA 1. */
  oack: Array<[string, string]>;
}

const DEFAULT_BLKSIZE = 512;
/**
 * A window must fit a client's default UDP receive buffer (Linux: 208 KiB of kernel
 * accounting, about 2× the payload). 16 blocks of 8 KiB overflowed atftp's and lost
 * thousands of datagrams per 32 MiB (BENCHMARKS.md); 64 KiB of payload per window does not.
 */
export const MAX_WINDOW_BYTES = 64 * 1024;

export function negotiate(
  requested: ReadonlyMap<string, string>,
  size: number,
  limits: OptionLimits,
): Negotiated {
  const result: Negotiated = { blksize: DEFAULT_BLKSIZE, windowsize: 1, timeoutSec: undefined, oack: [] };
  for (const [name, raw] of requested) {
    const value = parseNumber(raw);
    switch (name) {
      case 'blksize':
        if (value === undefined) break;
        result.blksize = clamp(value, 8, Math.min(limits.maxBlksize, 65464));
        result.oack.push([name, String(result.blksize)]);
        break;
      case 'windowsize':
        if (value === undefined) break;
        result.windowsize = clamp(value, 1, Math.min(limits.maxWindowsize, 65535));
        result.oack.push([name, String(result.windowsize)]);
        break;
      case 'timeout':
        if (value === undefined) break;
        result.timeoutSec = clamp(value, 1, 255);
        result.oack.push([name, String(result.timeoutSec)]);
        break;
      case 'tsize':
        // In a read request the client sends 0 (or anything): we answer with the real size.
        result.oack.push([name, String(size)]);
        break;
    }
  }
  capWindow(result);
  return result;
}

/** Clamp windowsize so windowsize × blksize ≤ MAX_WINDOW_BYTES, and say so in the OACK. */
function capWindow(result: Negotiated): void {
  const cap = Math.max(1, Math.floor(MAX_WINDOW_BYTES / result.blksize));
  if (result.windowsize <= cap) return;
  result.windowsize = cap;
  const entry = result.oack.find(([name]) => name === 'windowsize');
  if (entry) entry[1] = String(cap);
}

function parseNumber(raw: string): number | undefined {
  const trimmed = raw.trim();
  if (!/^\d{1,15}$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}
