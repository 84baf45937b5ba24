// Pure HTTP conditional-request and single-range logic (RFC 9110), for static files.

export interface FileMeta {
  size: number;
  mtimeMs: number;
  etag: string;
}

export type RangeDecision =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number } // inclusive end
  | { kind: 'unsatisfiable' };

export function etagFor(size: number, mtimeMs: number, ino: number): string {
  return `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}-${ino.toString(16)}"`;
}

/** True when the client's cached copy is current (answer 304). If-None-Match wins over If-Modified-Since. */
export function notModified(
  meta: FileMeta,
  ifNoneMatch: string | undefined,
  ifModifiedSince: string | undefined,
): boolean {
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch
      .split(',')
      .map((t) => t.trim().replace(/^W\//, ''))
      .some((t) => t === '*' || t === meta.etag);
  }
  if (ifModifiedSince !== undefined) {
    const since = Date.parse(ifModifiedSince);
    return !Number.isNaN(since) && Math.floor(meta.mtimeMs / 1000) * 1000 <= since;
  }
  return false;
}

/**
 * Decide what part of the file to send. Multi-range and malformed headers are ignored
 * (a full 200 is a valid answer); a well-formed range that starts past the end is 416.
 */
export function decideRange(
  meta: FileMeta,
  range: string | undefined,
  ifRange: string | undefined,
): RangeDecision {
  if (range === undefined) return { kind: 'full' };
  if (ifRange !== undefined && !ifRangeMatches(meta, ifRange)) return { kind: 'full' };
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'full' };
  const size = meta.size;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

function ifRangeMatches(meta: FileMeta, ifRange: string): boolean {
  const v = ifRange.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return v === meta.etag;
  const date = Date.parse(v);
  return !Number.isNaN(date) && Math.floor(meta.mtimeMs / 1000) * 1000 <= date;
}
