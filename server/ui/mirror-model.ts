// The dashboard's mirror section: boards with their versions (newest first), what each
// link points to, and the last refresh with a warning when it failed or is stale.
import { formatAgo, formatBytes, formatDuration, formatTime } from './format.ts';
import type { MirrorListing, MirrorVersion } from './mirror.ts';

export interface MirrorModel {
  boards: Array<{
    name: string;
    empty: boolean;
    current: string;
    versions: Array<{
      version: string;
      size: string;
      files: number;
      links: string;
      verified: string;
      derived: string;
    }>;
  }>;
  empty: boolean;
  lastRefresh: string;
  warning: string | undefined;
}

export function mirrorModel(listing: MirrorListing, staleAfterMs: number, now: number): MirrorModel {
  const boards = listing.boards.map((b) => ({
    name: `${b.channel}/${b.board}`,
    empty: b.versions.length === 0,
    current: b.links['current'] ?? 'not set',
    versions: b.versions.map((v) => ({
      version: v.version,
      size: formatBytes(v.bytes),
      files: v.files,
      links: Object.keys(b.links)
        .filter((name) => b.links[name] === v.version)
        .join(', '),
      verified: v.verifiedAt ? formatTime(v.verifiedAt) : 'unknown',
      derived: derived(v.derived),
    })),
  }));
  return { boards, empty: boards.length === 0, ...refresh(listing.status, staleAfterMs, now) };
}

/** "634 MiB, 12.9× smaller than raw 8.0 GiB, made in 96 s"; else why installs use the .bz2. */
function derived(d: MirrorVersion['derived']): string {
  if (!d || d.status === 'missing') return 'not yet: installs use the .bz2';
  if (d.status === 'invalid') return `invalid (${d.reason ?? 'unknown'}): rebuilt at the next refresh`;
  const made = d.seconds === undefined ? '' : `, made in ${formatDuration(d.seconds)}`;
  return `${formatBytes(d.zstBytes ?? 0)}, ${d.ratio}× smaller than raw ${formatBytes(d.rawBytes ?? 0)}${made}`;
}

function refresh(
  status: MirrorListing['status'],
  staleAfterMs: number,
  now: number,
): Pick<MirrorModel, 'lastRefresh' | 'warning'> {
  const last = status.lastRefresh;
  const stale = `no successful refresh in the last ${formatDuration(staleAfterMs / 1000)} (mirror.staleAfter)`;
  if (!last) return { lastRefresh: 'never', warning: `The mirror has never been refreshed: ${stale}.` };
  const when = `${formatTime(last.finishedAt)} (${formatAgo(last.finishedAt, now)})`;
  const result = last.ok
    ? `ok, ${formatBytes(last.bytes)} in ${formatDuration(last.seconds)}`
    : `failed: ${last.error ?? 'unknown error'}`;
  const success = status.lastSuccess ?? (last.ok ? last.finishedAt : undefined);
  let warning: string | undefined;
  if (!last.ok) warning = `The last mirror refresh failed: ${last.error ?? 'unknown error'}.`;
  else if (!success || now - Date.parse(success) > staleAfterMs) warning = `The mirror is stale: ${stale}.`;
  if (!last.ok && (!success || now - Date.parse(success) > staleAfterMs))
    warning += ` It is also stale: ${stale}.`;
  return { lastRefresh: `${when}: ${result}`, warning };
}
