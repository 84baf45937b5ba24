// Guards against an upstream (or anyone between it and us on plain http) that serves old,
// genuinely signed files as something new. Signatures cover each artifact, not its version
// or date, and version.txt is unsigned upstream, so a verified release can still be:
// - a replay: the signed artifacts of a version we published before (still here or long
//   pruned) under a new version number. Every version railyard publishes is recorded in a
//   ledger (`<mirror>/.ledger.json`, hidden: never served) with the SHA-512 of its signed
//   artifacts; a new version whose signed artifacts all match an earlier one is refused
//   unless `mirror.allowDuplicateRelease` (--allow-duplicate-release).
// - a downgrade: `current` pointed at a lower version than it points at now (an old
//   version.txt). Refused unless `mirror.allowDowngrade` (--allow-downgrade).
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VerificationError } from '../errors.ts';
import { compareVersionsDesc, isVersionName, MANIFEST, type MirrorLayout } from './layout.ts';
import type { Manifest } from './stage.ts';

export interface LedgerEntry {
  channel: string;
  board: string;
  version: string;
  publishedAt: string;
  /** Signed artifact name → SHA-512 (hex). */
  files: Record<string, string>;
}

/** Signed artifacts of a manifest (version.txt, unsigned upstream, does not count). */
export function signedDigests(manifest: Manifest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of manifest.files)
    if (f.signer && f.sha512 && f.name !== 'version.txt') out[f.name] = f.sha512;
  return out;
}

/** Everything published so far: the ledger plus the manifests of versions on disk now. */
export async function knownReleases(layout: MirrorLayout): Promise<LedgerEntry[]> {
  const entries = await readLedger(layout);
  const seen = new Set(entries.map((e) => `${e.channel}/${e.board}/${e.version}`));
  for (const channel of await dirs(layout.root)) {
    for (const board of await dirs(join(layout.root, channel))) {
      for (const version of (await dirs(layout.boardDir(channel, board))).filter(isVersionName)) {
        if (seen.has(`${channel}/${board}/${version}`)) continue;
        const manifest = await readManifest(join(layout.versionDir(channel, board, version), MANIFEST));
        if (manifest)
          entries.push({
            channel,
            board,
            version,
            publishedAt: manifest.verifiedAt,
            files: signedDigests(manifest),
          });
      }
    }
  }
  return entries;
}

/** Throws when `staged` (channel/board/version) repeats the signed artifacts of an earlier release. */
export async function refuseReplay(
  layout: MirrorLayout,
  target: { channel: string; board: string; version: string },
  staged: Manifest,
): Promise<void> {
  const mine = signedDigests(staged);
  for (const known of await knownReleases(layout)) {
    const same = known.channel === target.channel && known.board === target.board;
    if (same && known.version === target.version) continue;
    const shared = Object.keys(mine).filter((name) => known.files[name] !== undefined);
    if (shared.length === 0 || shared.some((name) => known.files[name] !== mine[name])) continue;
    throw new VerificationError(
      `${target.channel}/${target.board} ${target.version}: its signed files are byte-identical to ` +
        `${known.channel}/${known.board} ${known.version} (published ${known.publishedAt}): an old release ` +
        'replayed under a new version number? Refused; if this is intended, set mirror.allowDuplicateRelease ' +
        '(railyard mirror refresh --allow-duplicate-release)',
    );
  }
}

/** Throws when moving link `name` from `from` to `to` would go down a version. */
export function refuseDowngrade(where: string, name: string, from: string | undefined, to: string): void {
  if (from === undefined || !isVersionName(from) || compareVersionsDesc(from, to) >= 0) return;
  throw new VerificationError(
    `${where}: ${name} points at ${from}; upstream now names the lower ${to}: refusing to move ${name} down ` +
      '(an old version.txt replayed?); if this is intended, set mirror.allowDowngrade ' +
      '(railyard mirror refresh --allow-downgrade)',
  );
}

/** Record a published version in the ledger (atomic rewrite). */
export async function recordPublished(layout: MirrorLayout, entry: LedgerEntry): Promise<void> {
  const all = (await readLedger(layout)).filter(
    (e) => !(e.channel === entry.channel && e.board === entry.board && e.version === entry.version),
  );
  all.push(entry);
  const file = ledgerFile(layout);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify({ releases: all }, null, 1)}\n`);
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

function ledgerFile(layout: MirrorLayout): string {
  return join(layout.root, '.ledger.json');
}

async function readLedger(layout: MirrorLayout): Promise<LedgerEntry[]> {
  try {
    const data = JSON.parse(await readFile(ledgerFile(layout), 'utf8')) as { releases?: LedgerEntry[] };
    return Array.isArray(data.releases) ? data.releases : [];
  } catch {
    return [];
  }
}

async function readManifest(file: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

async function dirs(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
}
