// Read-side view of the mirror for the rest of the server (dashboard, /ipxe, `mirror
// status`): which versions are published, what the `current*` links point to, and the
// last refresh result. Reads the disk each time (a few readdir/stat calls), except that
// resolveVersion, asked on every /ipxe, keeps each board's listing while the board
// directory's mtime stays the same: publishing, a link switch and a removal all rename
// inside it, whichever process (the server's job, a `mirror refresh` from cron) does it.
import { statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type DerivedInfo, derivedInfo } from './derived.ts';
import { isLinkName, isVersionName, MANIFEST, MirrorLayout } from './layout.ts';
import { type BoardListing, listBoard } from './retention.ts';
import { type MirrorStatus, readStatus } from './status.ts';
import { UPDATE_DIR } from './update-payloads.ts';

export interface VersionInfo {
  version: string;
  bytes: number;
  files: number;
  /** ISO time the version was verified and published; undefined if unknown. */
  verifiedAt: string | undefined;
  /** The railyard-derived fast-install files (railyard/): sizes, ratio, time taken. */
  derived: DerivedInfo;
}

export interface BoardInfo {
  channel: string;
  board: string;
  versions: VersionInfo[];
  /** Link name (current, current-2024) → version. */
  links: Record<string, string>;
}

export interface CatalogListing {
  boards: BoardInfo[];
  status: MirrorStatus;
}

/**
 * A listing is kept only once its directory's mtime is this old: a change in the same
 * clock tick as the listing would leave the mtime as it was (git's "racy" index rule).
 */
const SETTLED_MS = 2000;

export class MirrorCatalog {
  readonly layout: MirrorLayout;
  readonly #boards = new Map<string, { mtimeMs: number; listing: BoardListing }>();

  constructor(mirrorDir: string) {
    this.layout = new MirrorLayout(mirrorDir);
  }

  /**
   * The published X.Y.Z for a spec: `current`/`current-YYYY` through the link, an X.Y.Z if
   * its directory exists. Undefined means "not mirrored (yet)".
   */
  async resolveVersion(channel: string, board: string, spec: string): Promise<string | undefined> {
    const { versions, links } = await this.#listing(this.layout.boardDir(channel, board));
    if (isLinkName(spec)) {
      const target = links.get(spec);
      return target && versions.includes(target) ? target : undefined;
    }
    return isVersionName(spec) && versions.includes(spec) ? spec : undefined;
  }

  /** listBoard, or the listing kept for this directory while its mtime is unchanged. */
  async #listing(boardDir: string): Promise<BoardListing> {
    // synchronous, without an error when missing: a few microseconds on the local data dir,
    // for every /ipxe that resolves a release (the promise API cost a thread-pool trip)
    const mtimeMs = statSync(boardDir, { throwIfNoEntry: false })?.mtimeMs;
    const kept = this.#boards.get(boardDir);
    if (mtimeMs !== undefined && kept?.mtimeMs === mtimeMs) return kept.listing;
    const listing = await listBoard(boardDir);
    if (mtimeMs !== undefined && Date.now() - mtimeMs > SETTLED_MS)
      this.#boards.set(boardDir, { mtimeMs, listing });
    else this.#boards.delete(boardDir);
    return listing;
  }

  async list(): Promise<CatalogListing> {
    const boards: BoardInfo[] = [];
    for (const channel of (await dirNames(this.layout.root)).filter((c) => c !== UPDATE_DIR)) {
      for (const board of await dirNames(join(this.layout.root, channel))) {
        boards.push(await this.#board(channel, board));
      }
    }
    return { boards, status: await readStatus(this.layout.statusFile) };
  }

  async #board(channel: string, board: string): Promise<BoardInfo> {
    const { versions, links } = await listBoard(this.layout.boardDir(channel, board));
    const infos = await Promise.all(
      versions.map((v) => versionInfo(this.layout.versionDir(channel, board, v), v)),
    );
    return { channel, board, versions: infos, links: Object.fromEntries(links) };
  }
}

async function dirNames(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

async function versionInfo(dir: string, version: string): Promise<VersionInfo> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name);
  const sizes = await Promise.all(names.map(async (n) => (await stat(join(dir, n))).size));
  let verifiedAt: string | undefined;
  try {
    verifiedAt = (JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as { verifiedAt?: string })
      .verifiedAt;
  } catch {
    verifiedAt = undefined;
  }
  const derived = await derivedInfo(dir);
  return { version, bytes: sizes.reduce((a, b) => a + b, 0), files: names.length, verifiedAt, derived };
}
