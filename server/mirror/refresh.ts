// One mirror refresh: take the lock, resolve every configured version spec against the
// upstream, stage + verify + publish what is missing, switch `current*` links, apply
// retention, record the result. Shared by `railyard mirror refresh` and the server's
// background job. Per-version failures are reported in the summary (ok=false), not thrown;
// config problems (ConfigError) and a busy lock (LockBusyError) are thrown.
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReleaseConfig } from '../config-schema.ts';
import { errorMessage, UpstreamError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { emptyTrash, pruneStaging } from './housekeeping.ts';
import {
  DEFAULT_FILES,
  isLinkName,
  isVersionName,
  MANIFEST,
  MirrorLayout,
  parseVersionTxt,
} from './layout.ts';
import { acquireLock } from './lock.ts';
import { noProgress, type ProgressSink } from './progress.ts';
import { publishDir, readLinkTarget, switchLink } from './publish.ts';
import { recordPublished, refuseDowngrade, refuseReplay, signedDigests } from './replay.ts';
import { applyRetention, type VersionsInUse } from './retention.ts';
import { type Manifest, stageVersion } from './stage.ts';
import {
  type MirrorStatus,
  type RefreshRecord,
  readStatus,
  type VersionResult,
  writeStatus,
} from './status.ts';
import { type PayloadJob, payloadJob } from './update-payloads.ts';
import { Upstream } from './upstream.ts';
import { SignatureVerifier } from './verify.ts';
import { runSteps, type StepContext, type StepResult } from './version-steps.ts';

/** The mirror's options (main.ts and the CLI pass config.mirror; docs/mirror.md). */
export interface MirrorConfig {
  /** URL template with {channel} and {board}. */
  upstream: string;
  /** The OpenPGP keyring file the signatures are checked against, and whether it is Flatcar's. */
  keyring: string;
  stockKeyring: boolean;
  fingerprint: string;
  autoRefresh: boolean;
  /** Durations in ms. */
  interval: number;
  staleAfter: number;
  retries: number;
  retryDelay: number;
  timeout: number;
  allowDowngrade: boolean;
  allowDuplicateRelease: boolean;
  deriveImages: boolean;
  zstdLevel: number;
  zstdLong: number;
  deriveThreads: number;
  releases: ReleaseConfig[];
  updates: boolean;
  updateUpstream: string;
  updateFiles: string[];
}

export interface RefreshFilter {
  channels?: readonly string[] | undefined;
  boards?: readonly string[] | undefined;
  /** Replaces the configured version specs of the selected releases for this run. */
  versions?: readonly string[] | undefined;
}

export interface RefreshOptions {
  dataDir: string;
  mirror: MirrorConfig;
  log: Logger;
  filter?: RefreshFilter | undefined;
  dryRun?: boolean | undefined;
  /** Wait for a running refresh to finish instead of failing with LockBusyError. */
  waitForLock?: boolean | undefined;
  progress?: ProgressSink | undefined;
  inUse?: VersionsInUse | undefined;
  signal?: AbortSignal | undefined;
}

interface Run {
  o: RefreshOptions;
  layout: MirrorLayout;
  upstream: Upstream;
  verifier: SignatureVerifier;
  status: MirrorStatus;
  /** Update payloads of each synced version (mirror.updates), see update-payloads.ts. */
  payloads: PayloadJob | undefined;
}

export async function refreshMirror(o: RefreshOptions): Promise<RefreshRecord> {
  const started = new Date();
  const layout = MirrorLayout.forDataDir(o.dataDir);
  const verifier = await SignatureVerifier.load(o.mirror.keyring, o.mirror.fingerprint);
  await mkdir(layout.root, { recursive: true });
  const lock = o.dryRun
    ? undefined
    : await acquireLock(layout.lockFile, { wait: o.waitForLock, log: o.log, signal: o.signal });
  try {
    if (!o.dryRun) await emptyTrash(layout);
    const run: Run = {
      o,
      layout,
      upstream: makeUpstream(o),
      verifier,
      status: await readStatus(layout.statusFile),
      payloads: payloadJob({ ...o, layout, progress: o.progress ?? noProgress }),
    };
    const versions: VersionResult[] = [];
    const removed: string[] = [];
    for (const release of selectReleases(o.mirror.releases, o.filter)) {
      const results = await refreshRelease(run, release);
      versions.push(...results);
      if (!o.dryRun) removed.push(...(await retain(run, release, results)));
    }
    if (!o.dryRun && run.payloads) removed.push(...(await run.payloads.retain()));
    const record = summarize(started, versions, removed);
    if (!o.dryRun) await saveStatus(run, record);
    return record;
  } finally {
    await lock?.release();
  }
}

function makeUpstream(o: RefreshOptions): Upstream {
  const m = o.mirror;
  return new Upstream({
    template: m.upstream,
    timeoutMs: m.timeout,
    retries: m.retries,
    retryDelayMs: m.retryDelay,
    log: o.log,
    signal: o.signal,
  });
}

export function selectReleases(
  releases: readonly ReleaseConfig[],
  filter: RefreshFilter = {},
): ReleaseConfig[] {
  return releases
    .filter((r) => !filter.channels?.length || filter.channels.includes(r.channel))
    .filter((r) => !filter.boards?.length || filter.boards.includes(r.board))
    .map((r) => (filter.versions?.length ? { ...r, versions: [...filter.versions] } : r));
}

async function refreshRelease(run: Run, release: ReleaseConfig): Promise<VersionResult[]> {
  const { channel, board } = release;
  const base = run.upstream.baseUrl(channel, board);
  const wanted = new Map<string, string[]>();
  const results: VersionResult[] = [];
  for (const spec of release.versions) {
    const t0 = performance.now();
    try {
      const version = await resolveSpec(run, base, spec);
      wanted.set(version, [...(wanted.get(version) ?? []), spec]);
    } catch (err) {
      results.push({
        channel,
        board,
        specs: [spec],
        version: undefined,
        status: 'failed',
        bytes: 0,
        seconds: since(t0),
        reason: describe(err),
      });
    }
  }
  for (const [version, specs] of wanted) results.push(await syncVersion(run, release, base, version, specs));
  for (const r of results) logResult(run.o.log, r);
  return results;
}

/** `current`/`current-YYYY` → X.Y.Z from `<base>/<spec>/version.txt`; X.Y.Z as is. */
async function resolveSpec(run: Run, base: string, spec: string): Promise<string> {
  if (isVersionName(spec)) return spec;
  const url = `${base}/${spec}/version.txt`;
  run.status.validators ??= {};
  const text = await run.upstream.fetchText(url, false, run.status.validators[url]);
  const version = text && parseVersionTxt(text.body)['FLATCAR_VERSION'];
  if (!text || !version || !isVersionName(version))
    throw new UpstreamError(`${url}: no valid FLATCAR_VERSION line`);
  run.status.validators[url] = text;
  return version;
}

async function syncVersion(
  run: Run,
  release: ReleaseConfig,
  base: string,
  version: string,
  specs: string[],
): Promise<VersionResult> {
  const { channel, board } = release;
  const t0 = performance.now();
  const result = (status: VersionResult['status'], bytes: number, reason?: string): VersionResult => ({
    channel,
    board,
    specs,
    version,
    status,
    bytes,
    seconds: since(t0),
    ...(reason ? { reason } : {}),
  });
  const final = run.layout.versionDir(channel, board, version);
  const published = await isDir(final);
  try {
    await checkLinkMoves(run, release, version, specs);
    if (!published && run.o.dryRun) return { ...result('new', 0, 'would download'), dryRun: true };
    let bytes = 0;
    let steps: Record<string, StepResult> | undefined;
    if (!published) {
      const staging = run.layout.stagingDir(channel, board, version);
      const ctx = {
        upstream: run.upstream,
        verifier: run.verifier,
        progress: run.o.progress ?? noProgress,
        log: run.o.log,
      };
      bytes = await stageVersion(
        ctx,
        `${base}/${version}`,
        version,
        [...DEFAULT_FILES, ...release.files],
        staging,
      );
      const manifest = JSON.parse(await readFile(join(staging, MANIFEST), 'utf8')) as Manifest;
      if (!run.o.mirror.allowDuplicateRelease)
        await refuseReplay(run.layout, { channel, board, version }, manifest);
      // Refused replays are refused before the (minutes-long) derivation of their image.
      steps = await runSteps('staged', stepContext(run, release, version), staging);
      await publishDir(staging, final);
      await recordPublished(run.layout, {
        channel,
        board,
        version,
        publishedAt: manifest.verifiedAt,
        files: signedDigests(manifest),
      });
    } else if (!run.o.dryRun) steps = await runSteps('published', stepContext(run, release, version), final);
    if (!run.o.dryRun) await switchLinks(run, release, version, specs);
    if (!run.o.dryRun && run.payloads) bytes += await run.payloads.sync(board, version);
    return { ...result(published ? 'unchanged' : 'new', bytes), ...(steps ? { steps } : {}) };
  } catch (err) {
    await freeSpaceAfter(run, err, run.layout.stagingDir(channel, board, version));
    return result('failed', 0, describe(err));
  }
}

function stepContext(run: Run, release: ReleaseConfig, version: string): StepContext {
  const { channel, board } = release;
  const { mirror, log, signal } = run.o;
  return { channel, board, version, mirror, layout: run.layout, verifier: run.verifier, log, signal };
}

/** On a full disk, drop the partial staging (resume is moot) so the rest of the data dir can breathe. */
async function freeSpaceAfter(run: Run, err: unknown, staging: string): Promise<void> {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return;
  run.o.log.warn({ staging }, 'disk full: discarding the partial download');
  await rm(staging, { recursive: true, force: true }).catch(() => undefined);
}

/** `current*` never moves to a lower version unless mirror.allowDowngrade. */
async function checkLinkMoves(
  run: Run,
  release: ReleaseConfig,
  version: string,
  specs: string[],
): Promise<void> {
  if (run.o.mirror.allowDowngrade) return;
  const boardDir = run.layout.boardDir(release.channel, release.board);
  for (const spec of specs.filter(isLinkName)) {
    refuseDowngrade(
      `${release.channel}/${release.board}`,
      spec,
      await readLinkTarget(boardDir, spec),
      version,
    );
  }
}

async function switchLinks(
  run: Run,
  release: ReleaseConfig,
  version: string,
  specs: string[],
): Promise<void> {
  const boardDir = run.layout.boardDir(release.channel, release.board);
  for (const spec of specs.filter(isLinkName)) {
    if (await switchLink(boardDir, spec, version))
      run.o.log.info({ link: `${release.channel}/${release.board}/${spec}`, version }, 'link switched');
  }
}

async function retain(run: Run, release: ReleaseConfig, results: VersionResult[]): Promise<string[]> {
  // Pinned in config (even when --version replaced this run's specs) or fetched by this run.
  const pinned = run.o.mirror.releases
    .filter((r) => r.channel === release.channel && r.board === release.board)
    .flatMap((r) => r.versions);
  const protect = new Set<string>([...pinned, ...release.versions].filter(isVersionName));
  for (const r of results) if (r.version) protect.add(r.version);
  try {
    await pruneStaging(run.layout, release.channel, release.board, protect, run.o.log);
    const inUse = run.o.inUse ? await run.o.inUse(release.channel, release.board) : [];
    for (const v of inUse) protect.add(v);
    return await applyRetention(run.layout, release, protect, run.o.log);
  } catch (err) {
    run.o.log.warn(
      { channel: release.channel, board: release.board, reason: describe(err) },
      'retention failed',
    );
    return [];
  }
}

function summarize(started: Date, versions: VersionResult[], removed: string[]): RefreshRecord {
  const failed = versions.filter((v) => v.status === 'failed');
  return {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    ok: failed.length === 0,
    bytes: versions.reduce((a, v) => a + v.bytes, 0),
    seconds: round((Date.now() - started.getTime()) / 1000),
    versions,
    removed,
    ...(failed.length ? { error: failed.map((f) => f.reason).join('; ') } : {}),
  };
}

async function saveStatus(run: Run, record: RefreshRecord): Promise<void> {
  const status: MirrorStatus = { ...run.status, lastRefresh: record };
  if (record.ok) status.lastSuccess = record.finishedAt;
  try {
    await writeStatus(run.layout.statusFile, status);
  } catch (err) {
    run.o.log.warn({ reason: describe(err) }, 'could not record the refresh status');
  }
}

function logResult(log: Logger, r: VersionResult): void {
  const what = `${r.channel}/${r.board} ${r.version ?? r.specs.join(',')}`;
  if (r.status === 'failed') log.error({ ...r }, `mirror ${what}: failed: ${r.reason}`);
  else log.info({ ...r }, `mirror ${what}: ${r.status}`);
}

const DISK_ERRORS: Record<string, string> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only filesystem',
  EIO: 'I/O error',
};

/** A one-line reason: disk errors name the path and the cause. */
export function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const disk = e?.code ? DISK_ERRORS[e.code] : undefined;
  return disk ? `${disk} (${e.code}) at ${e.path ?? 'unknown path'}` : errorMessage(err);
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

function since(t0: number): number {
  return round((performance.now() - t0) / 1000);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
