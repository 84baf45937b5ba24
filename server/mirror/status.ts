// The persisted record of mirror refreshes (`<dataDir>/mirror/.status.json`, never served):
// the last run's result for the dashboard and `mirror status`, and HTTP validators so a
// no-op refresh can use conditional requests. Written atomically (temp file + rename).
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { CachedText } from './upstream.ts';
import type { StepResult } from './version-steps.ts';

export type VersionStatus = 'new' | 'unchanged' | 'failed';

export interface VersionResult {
  channel: string;
  board: string;
  /** Specs from config that resolved here (e.g. ["current"], ["4230.2.3"]). */
  specs: string[];
  /** Resolved X.Y.Z; undefined when resolving failed. */
  version: string | undefined;
  status: VersionStatus;
  /** Bytes received over the network for this version. */
  bytes: number;
  seconds: number;
  reason?: string;
  dryRun?: boolean;
  /** Post-verification steps (version-steps.ts) by name, e.g. the derived image files. */
  steps?: Record<string, StepResult>;
}

export interface RefreshRecord {
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  bytes: number;
  seconds: number;
  versions: VersionResult[];
  /** Versions removed by retention, as channel/board/version. */
  removed: string[];
  error?: string;
}

export interface MirrorStatus {
  lastRefresh?: RefreshRecord;
  /** ISO time of the last refresh that ended without failure. */
  lastSuccess?: string;
  validators?: Record<string, CachedText>;
}

export async function readStatus(path: string): Promise<MirrorStatus> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as MirrorStatus;
  } catch {
    return {};
  }
}

export async function writeStatus(path: string, status: MirrorStatus): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(status, null, 2)}\n`);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
