// Staging-area housekeeping, run under the lock: finish deletions a crash interrupted, and
// drop partial downloads of versions no longer wanted once they have sat idle for a day
// (a version still wanted keeps its partial files: the next run resumes them).
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.ts';
import type { MirrorLayout } from './layout.ts';

export const STALE_STAGING_MS = 86_400_000;

export async function emptyTrash(layout: MirrorLayout): Promise<void> {
  await rm(layout.trashDir, { recursive: true, force: true });
}

export async function pruneStaging(
  layout: MirrorLayout,
  channel: string,
  board: string,
  wanted: ReadonlySet<string>,
  log: Logger,
  now = Date.now(),
): Promise<string[]> {
  const dir = join(layout.root, '.staging', channel, board);
  const pruned: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (wanted.has(name)) continue;
    if (now - (await lastTouched(join(dir, name))) < STALE_STAGING_MS) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    log.info({ staging: join(dir, name) }, 'dropped an abandoned partial download');
    pruned.push(name);
  }
  return pruned;
}

/** Newest mtime of a directory and the files directly in it (appends touch files, not dirs). */
async function lastTouched(dir: string): Promise<number> {
  let newest = (await stat(dir)).mtimeMs;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (st) newest = Math.max(newest, st.mtimeMs);
  }
  return newest;
}
