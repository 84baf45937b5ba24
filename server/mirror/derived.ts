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
  for (const f of [manifest.zst, manifest.bmap, manifest.spans]) {
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
  return [m.zst, m.bmap, m.spans, m.image].map((f) => `${f.sha256}  ${f.name}\n`).join('');
}
