// Which image path this install attempt takes, decided when its installer is built: the
// railyard-derived .zst (its SHA-256 and the read-back spans' digest pinned in the installer),
// or the stock .bz2 path (flatcar-install -b, Flatcar's signature checked on the node). The
// choice and its reason are reported by the node; the node may still fall back to .bz2 when
// it lacks zstd or openssl. Chain of trust: Flatcar's signature, checked by railyard's mirror
// → the digests railyard computed from those verified bytes, pinned here → checked by the
// installer on the stream and on the disk.

/** The derived files as the mirror describes them (server/mirror/derived.ts manifest). */
export interface DerivedImage {
  /** Directory of the derived files, relative to the version directory (the mirror's `railyard`). */
  dir: string;
  image: { size: number; sha256: string };
  zst: { name: string; size: number; sha256: string };
  /** The spans' bytes in order, zstd (the map writer's stream). */
  mapped: { name: string; size: number; sha256: string };
  spans: { name: string; sha256: string; bytes: number; dataSha256: string };
}

export interface ZstdSource {
  /** The whole raw image (dense writer). */
  url: string;
  sha256: string;
  size: number;
  /** The spans' bytes only (sparse writer: each span written at its offset). */
  mappedUrl: string;
  mappedSha256: string;
  mappedSize: number;
  spansUrl: string;
  spansSha256: string;
  /** SHA-256 of the spans' bytes read back from the disk, in order. */
  spansDataSha256: string;
  spansBytes: number;
  rawSize: number;
  rawSha256: string;
}

export interface ImagePlan {
  format: 'zstd' | 'bz2';
  writer: 'dense' | 'sparse';
  reason: string;
  zstd?: ZstdSource;
}

/** The bz2 path, e.g. for callers that know nothing of derived files. */
export const BZ2_PLAN: ImagePlan = { format: 'bz2', writer: 'dense', reason: 'no derived image offered' };

/** `versionUrl` is `<mirrorBase>/<version>` (the board-level base plus the resolved version). */
export function planImage(
  profile: { image: 'zstd' | 'bz2'; imageWriter: 'dense' | 'sparse' },
  derived: DerivedImage | undefined,
  versionUrl: string,
): ImagePlan {
  const writer = profile.imageWriter;
  if (profile.image === 'bz2') return { format: 'bz2', writer: 'dense', reason: 'profile image: bz2' };
  if (!derived)
    return {
      format: 'bz2',
      writer: 'dense',
      reason: 'derived .zst not on the mirror yet: installing from the .bz2',
    };
  const base = `${versionUrl.replace(/\/+$/, '')}/${derived.dir}`;
  return {
    format: 'zstd',
    writer,
    reason: `profile image: zstd; derived .zst ready (${writer} writer)`,
    zstd: {
      url: `${base}/${derived.zst.name}`,
      sha256: derived.zst.sha256,
      size: derived.zst.size,
      mappedUrl: `${base}/${derived.mapped.name}`,
      mappedSha256: derived.mapped.sha256,
      mappedSize: derived.mapped.size,
      spansUrl: `${base}/${derived.spans.name}`,
      spansSha256: derived.spans.sha256,
      spansDataSha256: derived.spans.dataSha256,
      spansBytes: derived.spans.bytes,
      rawSize: derived.image.size,
      rawSha256: derived.image.sha256,
    },
  };
}
