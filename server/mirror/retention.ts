// Retention: keep the newest `keep` versions of a channel/board, plus every protected
// version (pinned in config, named by a `current*` link, or in use by a machine).
import { readdir } from 'node:fs/promises';
import type { Logger } from '../log.ts';
import { compareVersionsDesc, isLinkName, isVersionName, type MirrorLayout } from './layout.ts';
import { readLinkTarget, removeDir } from './publish.ts';

/** Versions a machine is installing or booting right now; fed by the server from machine state. */
export type VersionsInUse = (channel: string, board: string) => Iterable<string> | Promise<Iterable<string>>;

/** Pure: which of `versions` to delete. */
export function chooseRemovals(
  versions: readonly string[],
  keep: number,
  protect: ReadonlySet<string>,
): string[] {
  return [...versions]
    .filter(isVersionName)
    .sort(compareVersionsDesc)
    .slice(keep)
    .filter((v) => !protect.has(v));
}

export interface BoardListing {
  versions: string[];
  links: Map<string, string>;
}

/** The published versions and `current*` links of one board directory. */
export async function listBoard(boardDir: string): Promise<BoardListing> {
  const entries = await readdir(boardDir, { withFileTypes: true }).catch(() => []);
  const versions = entries.filter((e) => e.isDirectory() && isVersionName(e.name)).map((e) => e.name);
  const links = new Map<string, string>();
  for (const e of entries) {
    if (!e.isSymbolicLink() || !isLinkName(e.name)) continue;
    const target = await readLinkTarget(boardDir, e.name);
    if (target) links.set(e.name, target);
  }
  return { versions: versions.sort(compareVersionsDesc), links };
}

/** Delete what `chooseRemovals` picks in one board directory; returns channel/board/version. */
export async function applyRetention(
  layout: MirrorLayout,
  release: { channel: string; board: string; keep: number },
  protect: Set<string>,
  log: Logger,
): Promise<string[]> {
  const { versions, links } = await listBoard(layout.boardDir(release.channel, release.board));
  for (const target of links.values()) protect.add(target);
  const removed: string[] = [];
  for (const version of chooseRemovals(versions, release.keep, protect)) {
    await removeDir(layout.versionDir(release.channel, release.board, version), layout.trashDir);
    const name = `${release.channel}/${release.board}/${version}`;
    log.info({ version: name }, 'retention: removed old version');
    removed.push(name);
  }
  return removed;
}
