// The mirror as the dashboard sees it. `MirrorOverview` is the seam: its `list()` has the
// shape of the mirror module's `MirrorCatalog.list()` (server/mirror/catalog.ts on the
// mirror branch), so that catalog can be passed in as is. `DirMirrorOverview` is a small
// stand-in reading `<mirrorDir>/<channel>/<board>/<version>/`, the `current*` symlinks and
// `<mirrorDir>/.status.json`.
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

export interface MirrorVersion {
  version: string;
  bytes: number;
  files: number;
  verifiedAt: string | undefined;
}

export interface MirrorBoard {
  channel: string;
  board: string;
  versions: MirrorVersion[];
  /** Link name (current, current-2024) → version. */
  links: Record<string, string>;
}

export interface MirrorRefreshRecord {
  finishedAt: string;
  ok: boolean;
  bytes: number;
  seconds: number;
  error?: string;
}

export interface MirrorListing {
  boards: MirrorBoard[];
  status: { lastRefresh?: MirrorRefreshRecord; lastSuccess?: string };
}

export interface MirrorOverview {
  list(): Promise<MirrorListing>;
}

const VERSION = /^\d+\.\d+\.\d+$/;
const LINK = /^current(-\d{4})?$/;

export class DirMirrorOverview implements MirrorOverview {
  readonly #root: string;

  constructor(mirrorDir: string) {
    this.#root = mirrorDir;
  }

  async list(): Promise<MirrorListing> {
    const boards: MirrorBoard[] = [];
    for (const channel of await names(this.#root, 'dir')) {
      for (const board of await names(join(this.#root, channel), 'dir')) {
        boards.push(await this.#board(channel, board));
      }
    }
    return { boards, status: await readStatus(join(this.#root, '.status.json')) };
  }

  async #board(channel: string, board: string): Promise<MirrorBoard> {
    const dir = join(this.#root, channel, board);
    const versions = (await names(dir, 'dir')).filter((n) => VERSION.test(n));
    const links: Record<string, string> = {};
    for (const link of (await names(dir, 'link')).filter((n) => LINK.test(n))) {
      links[link] = basename(await readlink(join(dir, link)));
    }
    const infos = await Promise.all(versions.map((v) => versionInfo(join(dir, v), v)));
    infos.sort((a, b) => compareVersionsDesc(a.version, b.version));
    return { channel, board, versions: infos, links };
  }
}

function compareVersionsDesc(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pb[i] ?? 0) - (pa[i] ?? 0);
  return 0;
}

async function names(dir: string, kind: 'dir' | 'link'): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => !e.name.startsWith('.') && (kind === 'dir' ? e.isDirectory() : e.isSymbolicLink()))
    .map((e) => e.name)
    .sort();
}

async function versionInfo(dir: string, version: string): Promise<MirrorVersion> {
  const files = (await readdir(dir)).filter((n) => !n.startsWith('.'));
  const sizes = await Promise.all(files.map(async (n) => (await stat(join(dir, n))).size));
  return { version, bytes: sizes.reduce((a, b) => a + b, 0), files: files.length, verifiedAt: undefined };
}

async function readStatus(file: string): Promise<MirrorListing['status']> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as MirrorListing['status'];
  } catch {
    return {};
  }
}
