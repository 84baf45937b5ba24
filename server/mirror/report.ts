// Human-readable text for `railyard mirror refresh` and `railyard mirror status`.
import type { CatalogListing } from './catalog.ts';
import type { DerivedInfo } from './derived.ts';
import { formatBytes } from './progress.ts';
import type { RefreshRecord } from './status.ts';

export function formatRecord(record: RefreshRecord): string {
  const lines = record.versions.map((v) => {
    const what = `${v.channel}/${v.board} ${v.version ?? '?'} (${v.specs.join(', ')})`;
    if (v.status === 'failed') return `${what}: FAILED: ${v.reason}`;
    if (v.dryRun) return `${what}: would download`;
    const steps = Object.entries(v.steps ?? {})
      .filter(([, s]) => s.status !== 'ok')
      .map(
        ([name, s]) =>
          `; ${name} ${s.status === 'failed' ? 'FAILED' : s.status}${s.reason ? ` (${s.reason})` : ''}`,
      )
      .join('');
    return v.status === 'new'
      ? `${what}: new, ${formatBytes(v.bytes)} in ${v.seconds} s${steps}`
      : `${what}: unchanged${steps}`;
  });
  for (const r of record.removed) lines.push(`${r}: removed by retention`);
  lines.push(`${record.ok ? 'ok' : 'FAILED'}: ${formatBytes(record.bytes)} in ${record.seconds} s`);
  return `${lines.join('\n')}\n`;
}

export function formatStatus(listing: CatalogListing, staleAfterMs: number, now = Date.now()): string {
  const lines: string[] = [];
  for (const b of listing.boards) {
    lines.push(`${b.channel}/${b.board}`);
    for (const v of b.versions) {
      const links = Object.entries(b.links)
        .filter(([, target]) => target === v.version)
        .map(([name]) => name);
      const tag = links.length ? `  <- ${links.join(', ')}` : '';
      lines.push(
        `  ${v.version.padEnd(12)} ${formatBytes(v.bytes).padStart(9)}  verified ${v.verifiedAt ?? 'unknown'}  ${formatDerived(v.derived)}${tag}`,
      );
    }
    if (b.versions.length === 0) lines.push('  (nothing mirrored)');
  }
  if (listing.boards.length === 0) lines.push('nothing mirrored yet');
  lines.push(lastRefreshLine(listing, staleAfterMs, now));
  return `${lines.join('\n')}\n`;
}

function lastRefreshLine(listing: CatalogListing, staleAfterMs: number, now: number): string {
  const last = listing.status.lastRefresh;
  if (!last) return 'last refresh: never';
  const result = last.ok ? `ok, ${formatBytes(last.bytes)} in ${last.seconds} s` : `FAILED: ${last.error}`;
  const success = listing.status.lastSuccess;
  const stale =
    !success || now - Date.parse(success) > staleAfterMs ? ' (STALE: no successful refresh recently)' : '';
  return `last refresh: ${last.finishedAt} ${result}${stale}`;
}

/** "zst 634 MiB (raw 8.0 GiB 12.9x, .bz2 640 MiB, 634 MiB mapped, made in 96 s / 180 CPU s)". */
export function formatDerived(d: DerivedInfo | undefined): string {
  if (!d || d.status === 'missing') return 'zst: none yet (installs use the .bz2)';
  if (d.status === 'invalid') return `zst: INVALID (${d.reason}; rebuilt at the next refresh)`;
  return (
    `zst ${formatBytes(d.zstBytes ?? 0)} (raw ${formatBytes(d.rawBytes ?? 0)} ${d.ratio}x, ` +
    `.bz2 ${formatBytes(d.bz2Bytes ?? 0)}, ${formatBytes(d.mappedBytes ?? 0)} mapped, ` +
    `made in ${d.seconds} s / ${d.cpuSeconds} CPU s)`
  );
}
