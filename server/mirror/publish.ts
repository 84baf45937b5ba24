// Making staged versions visible, atomically: a verified staging directory becomes the
// version directory by one rename (same filesystem); a `current` link is switched by
// creating a new symlink beside it and renaming it over the old one. Removal renames a
// version out of the served tree first, then deletes it.
import { mkdir, open, readlink, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** fsync a directory so renames inside it survive a power cut. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Rename a fully verified staging directory to its final place. */
export async function publishDir(staging: string, final: string): Promise<void> {
  await syncDir(staging);
  await mkdir(dirname(final), { recursive: true });
  await rename(staging, final);
  await syncDir(dirname(final));
}

/** Point `<boardDir>/<name>` at `<boardDir>/<version>` (relative link), atomically. */
export async function switchLink(boardDir: string, name: string, version: string): Promise<boolean> {
  if ((await readLinkTarget(boardDir, name)) === version) return false;
  const temp = join(boardDir, `.${name}.${process.pid}.tmp`);
  await rm(temp, { force: true });
  await symlink(version, temp);
  await rename(temp, join(boardDir, name));
  await syncDir(boardDir);
  return true;
}

/** The version a link names, or undefined when there is no such link. */
export async function readLinkTarget(boardDir: string, name: string): Promise<string | undefined> {
  try {
    return basename(await readlink(join(boardDir, name)));
  } catch {
    return undefined;
  }
}

/** Take a directory out of the served tree in one rename, then delete it. */
export async function removeDir(dir: string, trashDir: string): Promise<void> {
  await mkdir(trashDir, { recursive: true });
  const trash = join(trashDir, `${basename(dir)}.${process.pid}.${Date.now()}`);
  await rename(dir, trash);
  await rm(trash, { recursive: true, force: true });
}
