// newc ("070701") cpio writer, as the Linux kernel's initramfs unpacker and GNU cpio read it
// (see the kernel's Documentation/driver-api/early-userspace/buffer-format.rst):
// a 110-byte ASCII-hex header, the NUL-terminated name, padding of header+name to 4 bytes,
// the data, padding to 4 bytes; `TRAILER!!!` ends the archive. Parent directories come
// before the files in them. Everything but content and permission bits is fixed (uid/gid 0,
// mtime 0, inode numbers in archive order), so equal inputs give equal bytes.
import { gzipSync } from 'node:zlib';
import { InvalidRequestError } from '../errors.ts';

export interface CpioFile {
  /** Relative path without `.`/`..` segments, e.g. `usr/share/oem/config.ign`. */
  path: string;
  data: Buffer | string;
  /** Permission bits; default 0o644. */
  mode?: number;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const SAFE_PATH = /^[A-Za-z0-9._+-]+(\/[A-Za-z0-9._+-]+)*$/;

/** The uncompressed archive. Files are sorted by path; their parent directories come first. */
export function writeNewc(files: readonly CpioFile[]): Buffer<ArrayBuffer> {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const seen = new Set<string>();
  for (const f of sorted) checkPath(f.path, seen);
  const entries: Entry[] = [];
  let ino = 1;
  for (const dir of parents(sorted))
    entries.push({ name: dir, mode: S_IFDIR | 0o755, ino: ino++, nlink: 2, data: '' });
  for (const f of sorted)
    entries.push({
      name: f.path,
      mode: S_IFREG | ((f.mode ?? 0o644) & 0o7777),
      ino: ino++,
      nlink: 1,
      data: f.data,
    });
  entries.push({ name: 'TRAILER!!!', mode: 0, ino: 0, nlink: 1, data: '' });
  // one buffer, sized first: an installer's config.ign is written straight into it
  let total = 0;
  const sized = entries.map((e) => {
    const nameSize = Buffer.byteLength(e.name, 'utf8') + 1;
    const dataSize = typeof e.data === 'string' ? Buffer.byteLength(e.data, 'utf8') : e.data.length;
    total += align4(HEADER + nameSize) + align4(dataSize);
    return { ...e, nameSize, dataSize };
  });
  const out = Buffer.alloc(total);
  let at = 0;
  for (const e of sized) {
    // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
    const fields = [e.ino, e.mode, 0, 0, e.nlink, 0, e.dataSize, 0, 0, 0, 0, e.nameSize, 0];
    out.write(`070701${fields.map(hex8).join('')}`, at, 'ascii');
    out.write(e.name, at + HEADER, 'utf8'); // the NUL and the padding are the buffer's zeros
    at += align4(HEADER + e.nameSize);
    if (typeof e.data === 'string') out.write(e.data, at, 'utf8');
    else e.data.copy(out, at);
    at += align4(e.dataSize);
  }
  return out;
}

const HEADER = 110;

interface Entry {
  name: string;
  mode: number;
  ino: number;
  nlink: number;
  data: Buffer | string;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * gzip'd newc cpio, ready to serve as an extra initrd. gzip's header mtime is 0 (node:zlib).
 * Stored blocks (level 0): most of an installer is base64 of gzip'd scripts (ignition.ts,
 * shared-contents.ts), where deflate finds little, so level 0 is ≈ 21 KB in ≈ 0.03 ms where
 * level 9 was 14.6 KB in ≈ 0.8 ms and run-length matching 16 KB in ≈ 0.15 ms (2 cores, loaded;
 * BENCHMARKS.md): CPU per booting machine is what a boot storm is short of, not LAN bytes.
 * Synchronous on purpose: zlib's async path (a stream, a thread-pool hop, callbacks) costs the
 * event loop more than this.
 */
export async function buildGzipCpio(files: readonly CpioFile[]): Promise<Buffer<ArrayBuffer>> {
  // stored blocks need no window or hash table: the smallest ones (512 B, 512 B instead of
  // 64 KiB and 128 KiB allocated and cleared per call) make it ≈ 2× cheaper, 10 bytes longer
  return gzipSync(writeNewc(files), { level: 0, windowBits: 9, memLevel: 1 });
}

function checkPath(path: string, seen: Set<string>): void {
  if (!SAFE_PATH.test(path) || path.split('/').some((s) => s === '.' || s === '..')) {
    throw new InvalidRequestError(`cpio: unsafe path ${JSON.stringify(path)}`);
  }
  if (seen.has(path)) throw new InvalidRequestError(`cpio: duplicate path ${JSON.stringify(path)}`);
  seen.add(path);
}

/** Every parent directory of the files, each once, parents before children. */
function parents(files: readonly CpioFile[]): string[] {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const f of files) {
    if (dirs.has(f.path))
      throw new InvalidRequestError(`cpio: ${JSON.stringify(f.path)} is both a file and a directory`);
  }
  return [...dirs].sort();
}

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}
