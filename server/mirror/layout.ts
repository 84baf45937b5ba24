// Where the mirror keeps things under `<dataDir>/mirror/`. Everything whose name starts
// with "." is never served over HTTP (see assets/file-root.ts): staging, lock, status.
import { join } from 'node:path';

export const DEFAULT_FILES = [
  'version.txt',
  'flatcar_production_image.bin.bz2',
  'flatcar_production_pxe.vmlinuz',
  'flatcar_production_pxe_image.cpio.gz',
] as const;

/** Companions fetched beside every artifact; `.sig` is required except for version.txt. */
export const COMPANIONS = ['.sig', '.DIGESTS', '.DIGESTS.asc'] as const;

/** Name of the per-version manifest written before publishing (hidden: never served). */
export const MANIFEST = '.verified.json';

const VERSION = /^\d+\.\d+\.\d+$/;
const LINK = /^current(-\d{4})?$/;

export function isVersionName(name: string): boolean {
  return VERSION.test(name);
}

export function isLinkName(name: string): boolean {
  return LINK.test(name);
}

/** Newest first: numeric X.Y.Z comparison. */
export function compareVersionsDesc(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pb[i] ?? 0) - (pa[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export class MirrorLayout {
  readonly root: string;

  constructor(mirrorDir: string) {
    this.root = mirrorDir;
  }

  static forDataDir(dataDir: string): MirrorLayout {
    return new MirrorLayout(join(dataDir, 'mirror'));
  }

  boardDir(channel: string, board: string): string {
    return join(this.root, channel, board);
  }

  versionDir(channel: string, board: string, version: string): string {
    return join(this.root, channel, board, version);
  }

  stagingDir(channel: string, board: string, version: string): string {
    return join(this.root, '.staging', channel, board, version);
  }

  get trashDir(): string {
    return join(this.root, '.staging', '.trash');
  }

  get lockFile(): string {
    return join(this.root, '.lock');
  }

  get statusFile(): string {
    return join(this.root, '.status.json');
  }
}

/** Parse a Flatcar `version.txt` (shell-style KEY=value lines, values maybe quoted). */
export function parseVersionTxt(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1] as string] = (m[2] as string).replace(/^"(.*)"$/, '$1');
  }
  return out;
}
