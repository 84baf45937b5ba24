// The mirror as the dashboard sees it: the one method it needs, declared here. The mirror
// module's `MirrorCatalog` (server/mirror/catalog.ts) implements it as is.

export interface MirrorVersion {
  version: string;
  bytes: number;
  files: number;
  verifiedAt: string | undefined;
  /** The mirror's derived fast-install files (server/mirror/derived.ts DerivedInfo). */
  derived?: {
    status: 'ready' | 'missing' | 'invalid';
    reason?: string;
    zstBytes?: number;
    rawBytes?: number;
    ratio?: number;
    seconds?: number;
  };
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
