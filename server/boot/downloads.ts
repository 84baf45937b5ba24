// Asset downloads that carry a machine's MAC (`?mac=`) become events on its timeline:
// kernel, initrd and installer fetched, with bytes and duration. A `?mac=` is only a claim:
// the download counts for a machine only when that machine has an open install attempt
// opened from the same client IP, and it is recorded as part of that attempt.
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Mac } from '../machines/identity.ts';
import type { EventType } from '../machines/state.ts';
import type { StateStore } from '../store/state-store.ts';
import { normalizeIp } from './views.ts';

export interface Download {
  path: string;
  bytes: number;
  durationMs: number;
  complete: boolean;
  status: number;
}

/** Which timeline event a downloaded file stands for; undefined when it is not a boot asset. */
export function downloadEventType(path: string): EventType | undefined {
  if (path.startsWith('/installer/')) return 'installer-fetched';
  if (path.endsWith('.vmlinuz')) return 'kernel-fetched';
  if (path.endsWith('.cpio.gz')) return 'initrd-fetched';
  return undefined;
}

export class DownloadRecorder {
  readonly #store: StateStore;
  readonly #log: Logger;

  constructor(store: StateStore, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  /**
   * Fire and forget: a download is never failed by its bookkeeping. Ignored unless the MAC
   * has an open attempt whose install script went to `clientIp`.
   */
  record(mac: Mac | undefined, download: Download, clientIp?: string): void {
    const type = downloadEventType(download.path);
    if (!mac || !type || download.status >= 300 || download.bytes === 0) return;
    this.#guard(download.path, this.#attributed(mac, type, download, clientIp));
  }

  /** The installer cpio of attempt `attemptId` went out (the route checked the attempt). */
  recordInstaller(mac: Mac, attemptId: number, bytes: number, durationMs: number): void {
    const download = { path: '/installer/', bytes, durationMs, complete: true, status: 200 };
    this.#guard('/installer/', this.#write(mac, attemptId, 'installer-fetched', download));
  }

  #guard(path: string, work: Promise<void>): void {
    void work.catch((err: unknown) =>
      this.#log.warn({ err: errorMessage(err), path }, 'could not record download'),
    );
  }

  async #attributed(mac: Mac, type: EventType, d: Download, clientIp?: string): Promise<void> {
    const attempt = await this.#store.openAttemptOf(mac);
    if (!attempt || attempt.clientIp !== normalizeIp(clientIp)) return;
    await this.#write(mac, attempt.id, type, d);
  }

  async #write(mac: Mac, attemptId: number, type: EventType, d: Download): Promise<void> {
    const data = { path: d.path, bytes: d.bytes, durationMs: Math.round(d.durationMs), complete: d.complete };
    await this.#store.recordEvent(mac, { type, source: 'http', data, attemptId });
  }
}
