// Update payloads (`mirror.updates: true`): for every version a refresh mirrors, fetch
// `flatcar_production_update.gz` and the configured extension payloads from
// `<mirror.updateUpstream>/<version>/` into `<mirror>/update/<board>/<version>/`, laid out like
// https://update.release.flatcar-linux.net/<board>/ so another railyard can mirror from us.
// Same staging, resume, atomic publish and retention as the images. The payload is signed by
// Flatcar's update key and checked by the client; here we check what upstream publishes
// (size, `F.sha256`, the SHA-512 of `F.DIGESTS`; absence is not an error), re-host the exact
// bytes and precompute what Omaha responses need (size, base64 SHA-1 and SHA-256).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, UpstreamError, VerificationError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { compareVersionsDesc, isVersionName, type MirrorLayout } from './layout.ts';
import type { ProgressSink } from './progress.ts';
import { publishDir, removeDir } from './publish.ts';
import { Upstream } from './upstream.ts';
import { parseSha512Digests } from './verify.ts';

/** The directory under the mirror root (never a channel name: channels are an enum). */
export const UPDATE_DIR = 'update';
export const PAYLOAD = 'flatcar_production_update.gz';
/** Hidden manifest of a published payload directory (never served). */
export const PAYLOAD_MANIFEST = '.payloads.json';

export interface PayloadEntry {
  name: string;
  size: number;
  sha1: string;
  sha256: string;
  sha256Hex: string;
  /** Which upstream checks passed: `sha256` (F.sha256), `sha512` (F.DIGESTS). */
  checked: string[];
}

export interface PayloadManifest {
  version: string;
  board: string;
  source: string;
  verifiedAt: string;
  files: PayloadEntry[];
  /** Configured extension payloads upstream does not publish for this version. */
  missing: string[];
}

export interface PayloadContext {
  layout: MirrorLayout;
  upstream: Upstream;
  extensions: readonly string[];
  progress: ProgressSink;
  log: Logger;
}

export function payloadDir(layout: MirrorLayout, board: string, version: string): string {
  return join(layout.root, UPDATE_DIR, board, version);
}

/** Stage, verify and publish the payloads of one version unless published; returns bytes received. */
export async function syncUpdatePayloads(
  ctx: PayloadContext,
  board: string,
  version: string,
): Promise<number> {
  const final = payloadDir(ctx.layout, board, version);
  if (await exists(join(final, PAYLOAD_MANIFEST))) return 0;
  const staging = join(ctx.layout.root, '.staging', UPDATE_DIR, board, version);
  await mkdir(staging, { recursive: true });
  const base = `${ctx.upstream.baseUrl(UPDATE_DIR, board)}/${version}`;
  let bytes = 0;
  const files: PayloadEntry[] = [];
  const missing: string[] = [];
  for (const name of [PAYLOAD, ...ctx.extensions]) {
    const got = await fetchVerified(ctx, base, staging, name, name !== PAYLOAD);
    bytes += got.bytes;
    if (got.entry) files.push(got.entry);
    else missing.push(name);
  }
  for (const name of missing)
    ctx.log.warn({ board, version, file: name }, `update payload ${name}: not published upstream`);
  const manifest: PayloadManifest = {
    version,
    board,
    source: base,
    verifiedAt: new Date().toISOString(),
    files,
    missing,
  };
  await writeFile(join(staging, PAYLOAD_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(final, { recursive: true, force: true }); // a directory without manifest is a leftover
  await publishDir(staging, final);
  ctx.log.info({ board, version, files: files.length }, `update payloads ${board}/${version}: published`);
  return bytes;
}

async function fetchVerified(
  ctx: PayloadContext,
  base: string,
  dir: string,
  name: string,
  optional: boolean,
) {
  let bytes = 0;
  for (const pass of ['resume', 'whole'] as const) {
    if (pass === 'whole') await removeFile(dir, name);
    const bar = ctx.progress.start(`update/${name}`);
    const r = await ctx.upstream.download(`${base}/${name}`, join(dir, name), optional, bar.update);
    bar.end(r);
    if (!r) return { bytes, entry: undefined };
    bytes += r.received;
    const sums = await fetchSums(ctx, base, dir, name);
    try {
      return { bytes, entry: await verify(dir, name, sums) };
    } catch (err) {
      if (!(err instanceof VerificationError)) throw err;
      if (pass === 'resume' && r.resumedFrom > 0) {
        ctx.log.warn(
          { file: name, reason: err.message },
          'resumed payload failed verification, fetching it whole',
        );
        continue;
      }
      await removeFile(dir, name);
      throw err;
    }
  }
  throw new Error('unreachable');
}

interface Sums {
  sha256?: string | undefined;
  sha512?: string | undefined;
}

/** `F.sha256` (sha256sum format) and `F.DIGESTS` when upstream has them, kept beside F. */
async function fetchSums(ctx: PayloadContext, base: string, dir: string, name: string): Promise<Sums> {
  const sums: Sums = {};
  const sha = await ctx.upstream.fetchText(`${base}/${name}.sha256`, true);
  if (sha) {
    const hex = /^([0-9a-fA-F]{64})\b/.exec(sha.body.trim())?.[1];
    if (!hex) throw new VerificationError(`${name}.sha256: not a sha256sum line`);
    sums.sha256 = hex.toLowerCase();
    await writeFile(join(dir, `${name}.sha256`), sha.body);
  }
  const digests = await ctx.upstream.fetchText(`${base}/${name}.DIGESTS`, true);
  if (digests) {
    sums.sha512 = parseSha512Digests(digests.body).get(name);
    await writeFile(join(dir, `${name}.DIGESTS`), digests.body);
  }
  return sums;
}

async function verify(dir: string, name: string, sums: Sums): Promise<PayloadEntry> {
  const file = join(dir, name);
  const size = (await stat(file)).size;
  if (size === 0) throw new VerificationError(`${name}: empty file`);
  const h = await hashFile(file);
  const checked: string[] = [];
  if (sums.sha256 !== undefined) {
    if (h.sha256Hex !== sums.sha256)
      throw new VerificationError(
        `${name}: SHA-256 ${h.sha256Hex.slice(0, 16)}… does not match ${name}.sha256 (${sums.sha256.slice(0, 16)}…)`,
      );
    checked.push('sha256');
  } else {
    // Not published upstream: serve one (sha256sum format) so clients and downstream railyards can check.
    await writeFile(`${file}.sha256`, `${h.sha256Hex}  ${name}\n`);
  }
  if (sums.sha512 !== undefined) {
    if (h.sha512Hex !== sums.sha512)
      throw new VerificationError(`${name}: SHA-512 does not match ${name}.DIGESTS`);
    checked.push('sha512');
  }
  return { name, size, sha1: h.sha1, sha256: h.sha256, sha256Hex: h.sha256Hex, checked };
}

async function hashFile(file: string) {
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  const sha512 = createHash('sha512');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    sha1.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
    sha512.update(chunk as Buffer);
  }
  const s256 = sha256.digest();
  return {
    sha1: sha1.digest('base64'),
    sha256: s256.toString('base64'),
    sha256Hex: s256.toString('hex'),
    sha512Hex: sha512.digest('hex'),
  };
}

async function removeFile(dir: string, name: string): Promise<void> {
  for (const f of [name, `${name}.sha256`, `${name}.DIGESTS`]) await rm(join(dir, f), { force: true });
}

/** The published manifest of `<board>/<version>`, or undefined (not mirrored, or unreadable). */
export async function readPayloadManifest(
  layout: MirrorLayout,
  board: string,
  version: string,
): Promise<PayloadManifest | undefined> {
  try {
    return JSON.parse(await readFile(join(payloadDir(layout, board, version), PAYLOAD_MANIFEST), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Published payload versions of a board, newest first. */
export async function listPayloadVersions(layout: MirrorLayout, board: string): Promise<string[]> {
  const names = await readdir(join(layout.root, UPDATE_DIR, board)).catch(() => [] as string[]);
  return names.filter(isVersionName).sort(compareVersionsDesc);
}

/**
 * Retention: a payload directory goes when no channel of its board still publishes that
 * version and no machine is updating to it (`inUse`). Returns `update/<board>/<version>`s removed.
 */
export async function retainUpdatePayloads(
  layout: MirrorLayout,
  inUse: (board: string) => Promise<Iterable<string>> | Iterable<string>,
  log: Logger,
): Promise<string[]> {
  const removed: string[] = [];
  for (const board of await readdir(join(layout.root, UPDATE_DIR)).catch(() => [] as string[])) {
    const keep = new Set<string>(await inUse(board));
    for (const channel of await readdir(layout.root).catch(() => [] as string[])) {
      if (channel.startsWith('.') || channel === UPDATE_DIR) continue;
      for (const v of await readdir(layout.boardDir(channel, board)).catch(() => [] as string[])) keep.add(v);
    }
    for (const version of await listPayloadVersions(layout, board)) {
      if (keep.has(version)) continue;
      await removeDir(payloadDir(layout, board, version), layout.trashDir);
      log.info({ version: `${UPDATE_DIR}/${board}/${version}` }, 'retention: removed old update payloads');
      removed.push(`${UPDATE_DIR}/${board}/${version}`);
    }
  }
  return removed;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

export interface PayloadJobOptions {
  layout: MirrorLayout;
  mirror: {
    updates: boolean;
    updateUpstream: string;
    updateFiles: readonly string[];
    timeout: number;
    retries: number;
    retryDelay: number;
  };
  log: Logger;
  progress: ProgressSink;
  signal?: AbortSignal | undefined;
  /** `inUse('update', board)`: versions machines are updating to (kept by retention). */
  inUse?: ((channel: string, board: string) => Promise<Iterable<string>> | Iterable<string>) | undefined;
}

export interface PayloadJob {
  sync(board: string, version: string): Promise<number>;
  retain(): Promise<string[]>;
}

/** The refresh's payload step, or undefined when `mirror.updates` is off. */
export function payloadJob(o: PayloadJobOptions): PayloadJob | undefined {
  if (!o.mirror.updates) return undefined;
  const upstream = new Upstream({
    template: o.mirror.updateUpstream,
    timeoutMs: o.mirror.timeout,
    retries: o.mirror.retries,
    retryDelayMs: o.mirror.retryDelay,
    log: o.log,
    signal: o.signal,
  });
  const ctx: PayloadContext = {
    layout: o.layout,
    upstream,
    extensions: o.mirror.updateFiles,
    progress: o.progress,
    log: o.log,
  };
  return {
    sync: async (board, version) => {
      try {
        return await syncUpdatePayloads(ctx, board, version);
      } catch (err) {
        throw new UpstreamError(`update payloads ${board}/${version}: ${errorMessage(err)}`, { cause: err });
      }
    },
    retain: async () => {
      try {
        return await retainUpdatePayloads(o.layout, (board) => o.inUse?.(UPDATE_DIR, board) ?? [], o.log);
      } catch (err) {
        o.log.warn({ reason: errorMessage(err) }, 'update payload retention failed');
        return [];
      }
    },
  };
}
