// What railyard derives from a verified release image, and where it lives: the railyard-owned
// directory `<version>/railyard/` beside the upstream files (which stay byte-identical, so the
// stock `flatcar-install -b` keeps working against the mirror). Served as
// /mirror/<channel>/<board>/<version>/railyard/<file>. While being made it is the hidden
// `<version>/.railyard.partial/` (never served); one rename publishes it.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const DERIVED_DIR = 'railyard';
export const PARTIAL_DIR = '.railyard.partial';
export const SOURCE_IMAGE = 'flatcar_production_image.bin.bz2';
export const RAW_IMAGE = 'flatcar_production_image.bin';
export const DERIVED_FILES = {
  zst: `${RAW_IMAGE}.zst`,
  /** The spans' bytes in order, zstd: what the map writer puts back span by span. */
  mapped: `${RAW_IMAGE}.mapped.zst`,
  bmap: `${RAW_IMAGE}.bmap`,
  spans: `${RAW_IMAGE}.spans`,
  sums: 'SHA256SUMS',
  manifest: 'derived.json',
} as const;

const HEX64 = z.string().regex(/^[0-9a-f]{64}$/);
const COUNT = z.number().int().nonnegative();
const fileSchema = z.object({ name: z.string(), size: COUNT, sha256: HEX64 });

export const derivedManifestSchema = z.object({
  format: z.literal(1),
  derivedAt: z.string(),
  /** Wall and CPU seconds of the derivation (pass + round trip + files). */
  seconds: z.number().nonnegative(),
  cpuSeconds: z.number().nonnegative(),
  source: z.object({ name: z.string(), size: COUNT, sha512: z.string().regex(/^[0-9a-f]{128}$/) }),
  image: z.object({
    name: z.string(),
    size: COUNT,
    sha256: HEX64,
    blockSize: COUNT,
    mappedBlocks: COUNT,
    ranges: COUNT,
  }),
  zst: fileSchema.extend({ level: z.number().int(), long: COUNT }),
  mapped: fileSchema,
  bmap: fileSchema,
  /** Read-back spans: `count` lines, `bytes` in total, `dataSha256` over their bytes in order. */
  spans: fileSchema.extend({ count: COUNT, bytes: COUNT, dataSha256: HEX64 }),
  decompressor: z.string(),
});

export type DerivedManifest = z.output<typeof derivedManifestSchema>;

export type DerivedCheck = { ok: true; manifest: DerivedManifest } | { ok: false; reason: string };

/**
 * The derived files of a version directory: `missing`, unreadable or inconsistent (a size
 * differs from the manifest), or — with `deep` — a SHA-256 that differs. Never throws.
 */
export async function checkDerived(versionDir: string, deep = false): Promise<DerivedCheck> {
  const dir = join(versionDir, DERIVED_DIR);
  let manifest: DerivedManifest;
  try {
    const text = await readFile(join(dir, DERIVED_FILES.manifest), 'utf8');
    manifest = derivedManifestSchema.parse(JSON.parse(text));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? 'missing' : `${DERIVED_FILES.manifest} unreadable` };
  }
  for (const f of [manifest.zst, manifest.mapped, manifest.bmap, manifest.spans]) {
    const size = (await stat(join(dir, f.name)).catch(() => undefined))?.size;
    if (size === undefined) return { ok: false, reason: `${f.name} missing` };
    if (size !== f.size) return { ok: false, reason: `${f.name} is ${size} bytes, expected ${f.size}` };
    if (deep && (await sha256File(join(dir, f.name))) !== f.sha256)
      return { ok: false, reason: `${f.name}: SHA-256 differs from ${DERIVED_FILES.manifest}` };
  }
  return { ok: true, manifest };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `sha256sum -c` format, for operators: the derived files and the raw image they stand for. */
export function renderSums(m: DerivedManifest): string {
  return [m.zst, m.mapped, m.bmap, m.spans, m.image].map((f) => `${f.sha256}  ${f.name}\n`).join('');
}

/** What `mirror status`, the API and the dashboard show of a version's derived files. */
export interface DerivedInfo {
  status: 'ready' | 'missing' | 'invalid';
  reason?: string;
  zstBytes?: number;
  bz2Bytes?: number;
  rawBytes?: number;
  mappedBytes?: number;
  /** Raw image size / .zst size. */
  ratio?: number;
  seconds?: number;
  cpuSeconds?: number;
  derivedAt?: string;
  zstdLevel?: number;
}

/** Manifest and sizes only (no hashing): cheap enough for every listing. */
export async function derivedInfo(versionDir: string): Promise<DerivedInfo> {
  const check = await checkDerived(versionDir);
  if (!check.ok) return { status: check.reason === 'missing' ? 'missing' : 'invalid', reason: check.reason };
  const m = check.manifest;
  return {
    status: 'ready',
    zstBytes: m.zst.size,
    bz2Bytes: m.source.size,
    rawBytes: m.image.size,
    mappedBytes: m.image.mappedBlocks * m.image.blockSize,
    ratio: Math.round((m.image.size / Math.max(1, m.zst.size)) * 10) / 10,
    seconds: m.seconds,
    cpuSeconds: m.cpuSeconds,
    derivedAt: m.derivedAt,
    zstdLevel: m.zst.level,
  };
}

/** A version's manifest when its derived files are ready (shallow check), for the installer. */
export async function readyDerived(
  versionDir: string,
): Promise<(DerivedManifest & { dir: string }) | undefined> {
  const check = await checkDerived(versionDir);
  return check.ok ? { ...check.manifest, dir: DERIVED_DIR } : undefined;
}
