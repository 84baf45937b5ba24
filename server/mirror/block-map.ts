// One streaming pass over a raw disk image: its SHA-256, the map of its non-zero 4 KiB blocks
// (ranges with a SHA-256 each: what a bmap file lists) and the installer's spans (the ranges
// coalesced across small zero gaps, with one SHA-256 over the spans' bytes in order, gaps'
// zeros included; `onSpanData` receives those bytes, in order: the "mapped" stream the map
// writer puts back span by span). Fed in chunks of any size; memory stays flat.
import { createHash, type Hash } from 'node:crypto';

export const BLOCK_SIZE = 4096;
/** Ranges closer than this are read back as one span: one read instead of two costs about as much as reading ~1 MiB of zeros. */
export const SPAN_GAP = 1024 * 1024;

export interface MapRange {
  /** First and last block number, inclusive (bmap's "first-last"). */
  first: number;
  last: number;
  sha256: string;
}

export interface Span {
  offset: number;
  length: number;
}

export interface ImageMap {
  imageSize: number;
  blockSize: number;
  sha256: string;
  ranges: MapRange[];
  mappedBlocks: number;
  spans: Span[];
  /** SHA-256 of the spans' bytes, concatenated in order. */
  spansSha256: string;
}

const ZERO = Buffer.alloc(SPAN_GAP);

export class BlockMapBuilder {
  readonly #raw = createHash('sha256');
  readonly #ranges: MapRange[] = [];
  readonly #spans: Span[] = [];
  readonly #spansHash = createHash('sha256');
  readonly #spanGap: number;
  /** Bytes of an incomplete block carried to the next chunk. */
  #carry = Buffer.alloc(0);
  #block = 0;
  #size = 0;
  #range: { first: number; hash: Hash } | undefined;
  /** Byte offset just past the last non-zero block seen (the open span's end). */
  #spanEnd = 0;

  readonly #onSpanData: (bytes: Buffer) => void;

  constructor(spanGap = SPAN_GAP, onSpanData: (bytes: Buffer) => void = () => undefined) {
    if (spanGap > ZERO.length) throw new RangeError(`span gap above ${ZERO.length} bytes`);
    this.#spanGap = spanGap;
    this.#onSpanData = onSpanData;
  }

  feed(chunk: Buffer): void {
    this.#raw.update(chunk);
    this.#size += chunk.length;
    let data = chunk;
    if (this.#carry.length > 0) {
      const need = BLOCK_SIZE - this.#carry.length;
      if (chunk.length < need) {
        this.#carry = Buffer.concat([this.#carry, chunk]);
        return;
      }
      this.#blocks(Buffer.concat([this.#carry, chunk.subarray(0, need)]));
      data = chunk.subarray(need);
    }
    const whole = data.length - (data.length % BLOCK_SIZE);
    this.#blocks(data.subarray(0, whole));
    this.#carry = Buffer.from(data.subarray(whole));
  }

  finish(): ImageMap {
    if (this.#carry.length > 0) this.#blocks(this.#carry, true);
    this.#closeRange();
    this.#closeSpan();
    const mappedBlocks = this.#ranges.reduce((a, r) => a + r.last - r.first + 1, 0);
    return {
      imageSize: this.#size,
      blockSize: BLOCK_SIZE,
      sha256: this.#raw.digest('hex'),
      ranges: this.#ranges,
      mappedBlocks,
      spans: this.#spans,
      spansSha256: this.#spansHash.digest('hex'),
    };
  }

  /** Whole blocks (or the image's short last block), in order; runs of non-zero blocks hashed as slices. */
  #blocks(buf: Buffer, last = false): void {
    let runStart = -1;
    const step = last ? buf.length : BLOCK_SIZE;
    for (let at = 0; at < buf.length; at += step) {
      const n = Math.min(step, buf.length - at);
      const zero = buf.compare(ZERO, 0, n, at, at + n) === 0;
      if (!zero && runStart < 0) runStart = at;
      if (zero && runStart >= 0) {
        this.#data(buf.subarray(runStart, at), this.#block + runStart / BLOCK_SIZE);
        runStart = -1;
      }
      if (zero) this.#closeRange();
    }
    if (runStart >= 0) this.#data(buf.subarray(runStart), this.#block + runStart / BLOCK_SIZE);
    this.#block += Math.ceil(buf.length / BLOCK_SIZE);
  }

  /** Non-zero bytes starting at block `first`: extend or open the range and the span. */
  #data(bytes: Buffer, first: number): void {
    const offset = first * BLOCK_SIZE;
    if (!this.#range) {
      this.#range = { first, hash: createHash('sha256') };
      this.#joinSpan(offset);
    }
    this.#range.hash.update(bytes);
    this.#spanBytes(bytes);
    this.#spanEnd = offset + bytes.length;
  }

  #closeRange(): void {
    if (!this.#range) return;
    const last = Math.ceil(this.#spanEnd / BLOCK_SIZE) - 1;
    this.#ranges.push({ first: this.#range.first, last, sha256: this.#range.hash.digest('hex') });
    this.#range = undefined;
  }

  /** A new range starts at `offset`: continue the open span across the zero gap, or start a new span. */
  #joinSpan(offset: number): void {
    const open = this.#spans.at(-1);
    if (open && offset - this.#spanEnd <= this.#spanGap) {
      this.#spanBytes(ZERO.subarray(0, offset - this.#spanEnd));
      return;
    }
    this.#closeSpan();
    this.#spans.push({ offset, length: 0 });
  }

  #spanBytes(bytes: Buffer): void {
    this.#spansHash.update(bytes);
    this.#onSpanData(bytes);
  }

  #closeSpan(): void {
    const open = this.#spans.at(-1);
    if (open && open.length === 0) open.length = this.#spanEnd - open.offset;
  }
}
