// One root-restricted file resolver, shared by HTTP and TFTP: normalize the request path,
// join it under the root, follow symlinks only while they stay inside the root, require a
// regular file, and return its size. Names starting with "." (staging areas, lock files)
// are never served, whether asked for or reached through a symlink. `open` is the one way
// HTTP and TFTP open a file: the size and version they serve are those of the handle they
// read from (fstat), so a publish that swaps the file in between cannot mix two versions.
import { constants } from 'node:fs';
import { type FileHandle, open, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { InvalidRequestError, NotFoundError } from '../errors.ts';

export interface ResolvedFile {
  /** Real path on disk (symlinks resolved). */
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

/** A file opened under the root: its handle and what fstat says of it. The caller closes it. */
export interface OpenedFileHandle extends ResolvedFile {
  handle: FileHandle;
}

export class FileRoot {
  readonly root: string;
  #realRoot: Promise<string> | undefined;

  constructor(root: string) {
    this.root = root;
  }

  /** Resolve already-split, already-decoded path segments under the root. */
  async resolve(segments: readonly string[]): Promise<ResolvedFile> {
    const { real, name } = await this.#realPath(segments);
    const st = await stat(real).catch(() => undefined);
    if (!st?.isFile()) throw new NotFoundError(`not a regular file: ${name}`);
    return { path: real, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  }

  /**
   * Resolve, open, and describe what was opened (fstat), not what a stat before the open saw.
   * O_NONBLOCK: a FIFO or device under the root must not block the open; fstat refuses it.
   */
  async open(segments: readonly string[]): Promise<OpenedFileHandle> {
    const { real, name } = await this.#realPath(segments);
    let handle: FileHandle;
    try {
      handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      // gone since realpath (a publish or prune in between): not found; anything else (EMFILE
      // under a descriptor limit, EIO) goes up as it is, for the transport to map (busy, 500)
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR')
        throw new NotFoundError(`no such file: ${name}`, { cause: err });
      throw err;
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new NotFoundError(`not a regular file: ${name}`);
      return { handle, path: real, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
  }

  /** The real path of `segments` under the root: no escape, no hidden name on the way. */
  async #realPath(segments: readonly string[]): Promise<{ real: string; name: string }> {
    const clean = checkSegments(segments);
    const name = `/${clean.join('/')}`;
    const realRoot = await this.realRoot();
    let real: string;
    try {
      real = await realpath(join(realRoot, ...clean));
    } catch {
      throw new NotFoundError(`no such file: ${name}`);
    }
    if (!real.startsWith(realRoot + sep)) throw new NotFoundError(`outside the root: ${name}`);
    // A link inside the root to a hidden name (.staging, .status.json) is refused like the name.
    if (
      real
        .slice(realRoot.length + 1)
        .split(sep)
        .some((s) => s.startsWith('.'))
    )
      throw new NotFoundError(`hidden names are never served (through a link): ${name}`);
    return { real, name };
  }

  private realRoot(): Promise<string> {
    // Not cached across failures: the root may be created after startup (first mirror refresh).
    this.#realRoot ??= realpath(this.root).catch((err) => {
      this.#realRoot = undefined;
      throw new NotFoundError(`root ${this.root} does not exist`, { cause: err });
    });
    return this.#realRoot;
  }
}

function checkSegments(segments: readonly string[]): string[] {
  const clean = segments.filter((s) => s !== '');
  if (clean.length === 0) throw new NotFoundError('no file named');
  for (const s of clean) {
    if (s === '.' || s === '..')
      throw new InvalidRequestError(`path traversal refused: ${JSON.stringify(s)}`);
    if (s.includes('/') || s.includes('\\') || s.includes('\0')) {
      throw new InvalidRequestError(`invalid character in path segment ${JSON.stringify(s)}`);
    }
    if (s.startsWith('.')) throw new NotFoundError(`hidden names are never served: ${s}`);
  }
  return clean;
}

/** Split a raw URL path (still percent-encoded) into decoded segments. */
export function segmentsFromUrlPath(rawPath: string): string[] {
  return rawPath.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new InvalidRequestError(`malformed percent-encoding in ${JSON.stringify(s)}`);
    }
  });
}

/** TFTP file names: backslashes (Windows-era ROMs) become "/", leading "/" is dropped. */
export function segmentsFromTftpName(name: string): string[] {
  if (name.includes('\0')) throw new InvalidRequestError('NUL in file name');
  return name.replace(/\\/g, '/').split('/');
}
