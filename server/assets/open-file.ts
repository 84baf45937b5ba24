// Open a file under a FileRoot for positional reads: what the TFTP server needs (size +
// read at offset + close), without TFTP knowing about roots or the asset store.
import { open } from 'node:fs/promises';
import type { FileRoot } from './file-root.ts';

export interface OpenedFile {
  readonly size: number;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

export async function openUnderRoot(root: FileRoot, segments: readonly string[]): Promise<OpenedFile> {
  const resolved = await root.resolve(segments);
  const handle = await open(resolved.path, 'r');
  // Size of what we opened, not of what resolve() saw: a publish may swap the file in between.
  const size = await handle.stat().then(
    (st) => st.size,
    async (err) => {
      await handle.close();
      throw err;
    },
  );
  return {
    size,
    read: async (buffer, offset, length, position) =>
      (await handle.read(buffer, offset, length, position)).bytesRead,
    close: () => handle.close(),
  };
}
