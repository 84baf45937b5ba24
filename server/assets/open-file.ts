// Open a file under a FileRoot for positional reads: what the TFTP server needs (size +
// read at offset + close), without TFTP knowing about roots or the asset store.
//
// Small files (iPXE binaries: 70 KB to ~1 MB) are served from memory, shared by every
// transfer of the same file version: a lock-step TFTP transfer otherwise waits for one
// thread-pool file read per block, which left the server idle 80% of the time against
// tftpd-hpa (BENCHMARKS.md). Larger files are read from disk through a per-transfer
// read-ahead window, so a lock-step transfer of small blocks costs one disk read per 256 KiB.
import { type FileHandle, open } from 'node:fs/promises';
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
  const resolved = await root.resolve(segments);
  const handle = await open(resolved.path, 'r');
  try {
    const data = cache ? await cache.get(handle, resolved.path) : undefined;
    if (data) {
      await handle.close();
      return fromMemory(data);
    }
    // Size of what we opened, not of what resolve() saw: a publish may swap the file in between.
    const { size } = await handle.stat();
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

/** Positional reads served from the last 256 KiB read from disk (re-read on a miss). */
function withReadAhead(handle: FileHandle, size: number): OpenedFile {
  const window = Buffer.allocUnsafe(READ_AHEAD);
  let start = 0;
  let filled = 0;
  return {
    size,
    read: async (buffer, offset, length, position) => {
      if (length > READ_AHEAD) return (await handle.read(buffer, offset, length, position)).bytesRead;
      if (position < start || position + length > start + filled) {
        start = position;
        filled = (await handle.read(window, 0, READ_AHEAD, position)).bytesRead;
      }
      return window.copy(buffer, offset, position - start, Math.min(filled, position - start + length));
    },
    close: () => handle.close(),
  };
}
