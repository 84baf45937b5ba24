// Asset downloads that carry a machine's MAC (`?mac=`) become events on its timeline:
// kernel, initrd and installer fetched, with bytes and duration.
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { canonicalMac } from '../machines/identity.ts';
import type { EventType } from '../machines/state.ts';
import type { StateStore } from '../store/state-store.ts';

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

  /** Fire and forget: a download is never failed by its bookkeeping. Unknown MACs are ignored. */
  record(rawMac: string | undefined, download: Download): void {
    const type = downloadEventType(download.path);
    if (!rawMac || !type || download.status >= 300 || download.bytes === 0) return;
    void this.#record(rawMac, type, download).catch((err: unknown) =>
      this.#log.warn({ err: errorMessage(err), path: download.path }, 'could not record download'),
    );
  }

  async #record(rawMac: string, type: EventType, d: Download): Promise<void> {
    const mac = canonicalMac(rawMac);
    if (!(await this.#store.getMachine(mac))) return;
    const data = { path: d.path, bytes: d.bytes, durationMs: Math.round(d.durationMs), complete: d.complete };
    await this.#store.recordEvent(mac, { type, source: 'http', data });
  }
}
