// Open a file under a FileRoot for positional reads: what the TFTP server needs (size +
// read at offset + close), without TFTP knowing about roots or the asset store.
//
// Small files (iPXE binaries: 70 KB to ~1 MB) are served from memory, shared by every
// transfer of the same file version: a lock-step TFTP transfer otherwise waits for one
// thread-pool file read per block, which left the server idle 80% of the time against
// tftpd-hpa (BENCHMARKS.md). Larger files are read from disk through a per-transfer
// read-ahead window, so a lock-step transfer of small blocks costs one disk read per 256 KiB.
import type { FileHandle } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import type { FileRoot } from './file-root.ts';

export interface OpenedFile {
  readonly size: number;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/** Files up to this size are kept in memory. */
export const SMALL_FILE_BYTES = 4 * 1024 * 1024;

/** Contents of small files, keyed by identity and version (inode, size, mtime). */
export class SmallFileCache {
  readonly #cache = new LRUCache<string, Buffer>({
    maxSize: 32 * 1024 * 1024,
    sizeCalculation: (b) => Math.max(1, b.length),
  });

  async get(handle: FileHandle, path: string): Promise<Buffer | undefined> {
    const st = await handle.stat();
    if (st.size > SMALL_FILE_BYTES) return undefined;
    const key = `${path}|${st.ino}|${st.size}|${st.mtimeMs}`;
    const hit = this.#cache.get(key);
    if (hit) return hit;
    const data = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const { bytesRead } = await handle.read(data, got, st.size - got, got);
      if (bytesRead === 0) return undefined; // shrank while reading: serve from disk instead
      got += bytesRead;
    }
    this.#cache.set(key, data);
    return data;
  }
}

export async function openUnderRoot(
  root: FileRoot,
  segments: readonly string[],
  cache?: SmallFileCache,
): Promise<OpenedFile> {
  // the one open path of HTTP and TFTP (file-root.ts): the size is the opened handle's
  const { handle, path, size } = await root.open(segments);
  try {
    const data = cache ? await cache.get(handle, path) : undefined;
    if (data) {
      await handle.close();
      return fromMemory(data);
    }
    return withReadAhead(handle, size);
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
}

function fromMemory(data: Buffer): OpenedFile {
  return {
    size: data.length,
    read: async (buffer, offset, length, position) =>
      data.copy(buffer, offset, position, Math.min(data.length, position + length)),
    close: async () => {},
  };
}

const READ_AHEAD = 256 * 1024;

/** What the read-ahead needs of a FileHandle (tests pass one whose reads they hold back). */
export interface PositionalReader {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/** Bytes read from the file at `start`; replaced as a whole, never written into. */
interface Window {
  start: number;
  bytes: Buffer;
}

/**
 * Positional reads served from the last 256 KiB read from disk (re-read on a miss).
 *
 * Reads overlap: a TFTP transfer asks for its next window while the previous window's read
 * is still on the disk (an ACK came meanwhile). So a miss reads into a buffer of its own and
 * installs it, offset and bytes together, once the read has landed; reads in the meantime
 * use the window that was there. Moving the offset before the bytes arrived served an
 * earlier part of the file under later block numbers (an 8 MiB atftp download under loss).
 * Of misses that land out of order, the one issued last stays.
 */
export function withReadAhead(handle: PositionalReader, size: number): OpenedFile {
  let current: Window = { start: 0, bytes: Buffer.alloc(0) };
  let issued = 0;
  let installed = 0;
  const fetch = async (position: number): Promise<Window> => {
    const seq = ++issued;
    const buffer = Buffer.allocUnsafe(READ_AHEAD);
    const { bytesRead } = await handle.read(buffer, 0, READ_AHEAD, position);
    const window = { start: position, bytes: buffer.subarray(0, bytesRead) };
    if (seq > installed) {
      installed = seq;
      current = window;
    }
    return window;
  };
  return {
    size,
    read: async (buffer, offset, length, position) => {
      if (length > READ_AHEAD) return (await handle.read(buffer, offset, length, position)).bytesRead;
      let window = current;
      const end = window.start + window.bytes.length;
      if (position < window.start || position + length > end) window = await fetch(position);
      const from = position - window.start;
      return window.bytes.copy(buffer, offset, from, Math.min(window.bytes.length, from + length));
    },
    close: () => handle.close(),
  };
}
