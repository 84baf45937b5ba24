// The installer asks, for every machine it serves, whether a release's derived fast-install
// files are ready (derived.ts readyDerived: a manifest read, parsed and four stats). The
// answer is kept per version directory while its `railyard/` directory is the same one
// (inode) with the same mtime — publishing, repairing or removing files in it changes one of
// them — so a boot storm costs one stat per installer, a synchronous one: on the local data
// dir it is a few microseconds, where the promise API's trip through the thread pool (and,
// before anything is derived, an ENOENT error per machine) cost more than the rest of the
// check. As in catalog.ts, a directory changed within the last SETTLED_MS is not kept (a
// change in the same clock tick leaves the mtime as it was).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DERIVED_DIR, type DerivedManifest, readyDerived } from './derived.ts';

const SETTLED_MS = 2000;

export type ReadyManifest = DerivedManifest & { dir: string };

export class ReadyDerivedCache {
  readonly #kept = new Map<string, { ino: number; mtimeMs: number; ready: ReadyManifest | undefined }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async get(versionDir: string): Promise<ReadyManifest | undefined> {
    const dir = statSync(join(versionDir, DERIVED_DIR), { throwIfNoEntry: false });
    if (!dir) {
      this.#kept.delete(versionDir);
      return undefined;
    }
    const kept = this.#kept.get(versionDir);
    if (kept && kept.ino === dir.ino && kept.mtimeMs === dir.mtimeMs) return kept.ready;
    const ready = await readyDerived(versionDir);
    if (this.#now() - dir.mtimeMs > SETTLED_MS)
      this.#kept.set(versionDir, { ino: dir.ino, mtimeMs: dir.mtimeMs, ready });
    else this.#kept.delete(versionDir);
    return ready;
  }
}
