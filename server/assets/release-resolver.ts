// Resolve a profile's version spec against the published mirror on disk:
// `current`/`current-YYYY` through the link the mirror keeps, X.Y.Z when its directory exists.
import { readlink, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

export class MirrorReleaseResolver {
  readonly #dir: string;

  constructor(mirrorDir: string) {
    this.#dir = mirrorDir;
  }

  async resolveVersion(channel: string, board: string, spec: string): Promise<string | undefined> {
    const base = join(this.#dir, channel, board);
    let version = spec;
    if (spec.startsWith('current')) {
      const target = await readlink(join(base, spec)).catch(() => undefined);
      if (!target) return undefined;
      version = basename(target);
    }
    // Published version directories appear by one rename, complete and verified.
    const st = await stat(join(base, version)).catch(() => undefined);
    return st?.isDirectory() ? version : undefined;
  }
}
