// Read-side view of the mirror for the rest of the server (dashboard, /ipxe, `mirror
// status`): which versions are published, what the `current*` links point to, and the
// last refresh result. Reads the disk each time; cheap (a few readdir/stat calls).
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type DerivedInfo, derivedInfo } from './derived.ts';
import { isLinkName, isVersionName, MANIFEST, MirrorLayout } from './layout.ts';
import { listBoard } from './retention.ts';
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

export class MirrorCatalog {
  readonly layout: MirrorLayout;

  constructor(mirrorDir: string) {
    this.layout = new MirrorLayout(mirrorDir);
  }

  /**
   * The published X.Y.Z for a spec: `current`/`current-YYYY` through the link, an X.Y.Z if
   * its directory exists. Undefined means "not mirrored (yet)".
   */
  async resolveVersion(channel: string, board: string, spec: string): Promise<string | undefined> {
    const boardDir = this.layout.boardDir(channel, board);
    const { versions, links } = await listBoard(boardDir);
    if (isLinkName(spec)) {
      const target = links.get(spec);
      return target && versions.includes(target) ? target : undefined;
    }
    return isVersionName(spec) && versions.includes(spec) ? spec : undefined;
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
