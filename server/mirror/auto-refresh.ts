// The server's background mirror refresh (`mirror.autoRefresh`): run once at start, then
// every `mirror.interval`. A failed run is logged with its reason and retried with
// exponential backoff (capped at the interval); the server keeps serving meanwhile. Uses
// the same code and lock as `railyard mirror refresh`, so cron and the server never clash.
import { errorMessage, redactSecrets } from '../errors.ts';
import type { Stoppable } from '../lifecycle.ts';
import type { Logger } from '../log.ts';
import { LockBusyError } from './lock.ts';
import { type MirrorConfig, refreshMirror } from './refresh.ts';
import type { VersionsInUse } from './retention.ts';
import type { RefreshRecord } from './status.ts';

export interface AutoRefreshOptions {
  run: (signal: AbortSignal) => Promise<RefreshRecord>;
  intervalMs: number;
  log: Logger;
  /** Delay before the first retry after a failure; doubles per failure. Default 1 min. */
  retryBaseMs?: number;
  /** Called after every attempt (tests, metrics). */
  onAttempt?: (outcome: { ok: boolean; nextInMs: number }) => void;
  /** The server's lifecycle signal: when it aborts, the job stops as on `stop`. */
  signal?: AbortSignal;
  /** An unexpected failure of the job itself (not a failed refresh, which is retried). */
  onCrash?: (err: unknown) => void;
}

export class AutoRefresh implements Stoppable {
  readonly name = 'mirror-refresh';
  readonly #o: AutoRefreshOptions;
  readonly #controller = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #current: Promise<void> | undefined;
  #failures = 0;

  constructor(options: AutoRefreshOptions) {
    this.#o = options;
    const { signal } = options;
    if (signal?.aborted) this.#controller.abort(signal.reason);
    signal?.addEventListener('abort', () => this.#halt(signal.reason), { once: true });
    this.#schedule(0);
  }

  #halt(reason: unknown): void {
    this.#controller.abort(reason);
    clearTimeout(this.#timer);
  }

  async stop(deadline: number): Promise<void> {
    this.#halt(new Error('server stopping'));
    if (!this.#current) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => {
      timer = setTimeout(r, Math.max(0, deadline - Date.now()));
    });
    await Promise.race([this.#current, timeout]);
    clearTimeout(timer);
  }

  #schedule(ms: number): void {
    if (this.#controller.signal.aborted) return;
    this.#timer = setTimeout(() => {
      this.#current = this.#attempt().catch((err: unknown) => {
        if (!this.#o.onCrash) throw err;
        this.#o.onCrash(err);
      });
    }, ms);
  }

  async #attempt(): Promise<void> {
    const ok = await this.#runOnce();
    if (this.#controller.signal.aborted) return;
    this.#failures = ok ? 0 : this.#failures + 1;
    const retry = Math.min(this.#o.intervalMs, (this.#o.retryBaseMs ?? 60_000) * 2 ** (this.#failures - 1));
    const next = ok ? this.#o.intervalMs : retry;
    this.#o.onAttempt?.({ ok, nextInMs: next });
    this.#schedule(next);
  }

  async #runOnce(): Promise<boolean> {
    const { log } = this.#o;
    try {
      const record = await this.#o.run(this.#controller.signal);
      if (record.ok) log.info({ bytes: record.bytes, seconds: record.seconds }, 'mirror refresh done');
      else log.error({ reason: record.error }, `mirror refresh failed, will retry: ${record.error}`);
      return record.ok;
    } catch (err) {
      if (this.#controller.signal.aborted) return false;
      if (err instanceof LockBusyError)
        log.info({ reason: err.message }, 'mirror refresh skipped, will retry');
      else
        log.error({ reason: errorMessage(err) }, `mirror refresh failed, will retry: ${errorMessage(err)}`);
      return false;
    }
  }
}

/**
 * The background job for `railyard serve`, or undefined when `mirror.autoRefresh` is off.
 * `inUse` names versions machines are installing, so retention never removes them;
 * `onOutcome` hears about every run (metrics), failed ones included.
 */
export function startMirrorJob(
  config: { dataDir: string; mirror: MirrorConfig },
  log: Logger,
  inUse?: VersionsInUse,
  onOutcome?: (outcome: { ok: boolean }) => void,
  lifecycle: Pick<AutoRefreshOptions, 'signal' | 'onCrash'> = {},
): AutoRefresh | undefined {
  if (!config.mirror.autoRefresh) return undefined;
  const releases = config.mirror.releases.map((r) => `${r.channel}/${r.board}:${r.versions.join(',')}`);
  log.info(
    { upstream: redactSecrets(config.mirror.upstream), releases, intervalMs: config.mirror.interval },
    'mirror auto-refresh on (set mirror.autoRefresh: false to leave it to cron)',
  );
  return new AutoRefresh({
    ...lifecycle,
    intervalMs: config.mirror.interval,
    log,
    run: async (signal) => {
      try {
        const record = await refreshMirror({
          dataDir: config.dataDir,
          mirror: config.mirror,
          log,
          signal,
          inUse,
        });
        onOutcome?.(record);
        return record;
      } catch (err) {
        onOutcome?.({ ok: false });
        throw err;
      }
    },
  });
}
