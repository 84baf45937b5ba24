// One lifecycle for every listener and background job: one AbortSignal that they observe;
// the first fatal error (a listener's, a job's crash) or a signal stops everything;
// SIGTERM/SIGINT let in-flight work drain briefly.
import { errorMessage } from './errors.ts';
import type { Logger } from './log.ts';

export interface Stoppable {
  readonly name: string;
  /** Stop accepting new work, finish in-flight work by `deadline` (epoch ms), then release. */
  stop(deadline: number): Promise<void>;
}

/** A background job, built but not started (buildServices); startServer starts it. */
export interface Job {
  readonly name: string;
  /**
   * Start it: it ends when `signal` aborts; `crash` reports an unexpected failure, which
   * stops the whole server. Returns what to stop, if anything.
   */
  start(signal: AbortSignal, crash: (err: unknown) => void): Stoppable | undefined;
}

export class Lifecycle {
  readonly #controller = new AbortController();
  readonly #services: Stoppable[] = [];
  readonly #final: Stoppable[] = [];
  readonly #log: Logger;
  readonly #drainMs: number;
  #stopping: Promise<void> | undefined;
  #fatal: Error | undefined;
  #onStopped: (() => void) | undefined;
  readonly #stopped: Promise<Error | undefined>;

  /** `drainMs`: how long in-flight work may finish when a fatal error stops everything. */
  constructor(log: Logger, options: { drainMs?: number } = {}) {
    this.#log = log;
    this.#drainMs = options.drainMs ?? 0;
    this.#stopped = new Promise((resolve) => {
      this.#onStopped = () => resolve(this.#fatal);
    });
  }

  /** Aborted (with the reason) as soon as stopping begins: every job and long-poll sees it. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Resolves when everything is stopped: with the fatal error that stopped it, else undefined. */
  get stopped(): Promise<Error | undefined> {
    return this.#stopped;
  }

  /** Stopped with the others; added while stopping (a startup step that lost the race), at once. */
  add(service: Stoppable): void {
    if (this.#stopping) void service.stop(Date.now()).catch(() => undefined);
    else this.#services.push(service);
  }

  /** A resource the others use (the state store): stopped only after every service is down. */
  addFinal(resource: Stoppable): void {
    this.#final.push(resource);
  }

  /** Start a job with this lifecycle's signal; its crash is fatal (`fail`). */
  startJob(job: Job): void {
    if (this.signal.aborted) return; // stopping already: a job started now would outlive it
    const started = job.start(this.signal, (err) => this.fail(job.name, err));
    if (started) this.add(started);
  }

  /**
   * A listener or job failed for good: log it and stop everything (once; errors while
   * stopping are consequences, not news). `stopped` then resolves with this error.
   */
  fail(source: string, err: unknown): void {
    if (this.#stopping) {
      this.#log.debug({ source, err: errorMessage(err) }, 'error while stopping');
      return;
    }
    const message = `${source}: ${errorMessage(err)}`;
    this.#fatal = err instanceof Error ? err : new Error(message);
    this.#log.error({ source, err }, `fatal error, stopping everything: ${message}`);
    void this.stop(`fatal error in ${message}`, this.#drainMs, true);
  }

  /**
   * Stop all services in reverse start order; resolves when all are down or the drain time
   * is up. `quiet`: no "shutting down" line (a failed startup reports its one error itself).
   */
  stop(reason: string, drainMs: number, quiet = false): Promise<void> {
    this.#stopping ??= this.#stopAll(reason, drainMs, quiet).finally(() => this.#onStopped?.());
    return this.#stopping;
  }

  async #stopAll(reason: string, drainMs: number, quiet: boolean): Promise<void> {
    if (!quiet) this.#log.info({ reason, drainMs }, 'shutting down');
    this.#controller.abort(new Error(reason));
    const deadline = Date.now() + drainMs;
    for (const group of [[...this.#services].reverse(), [...this.#final].reverse()]) {
      const results = await Promise.allSettled(group.map((s) => s.stop(deadline)));
      results.forEach((r, i) => {
        if (r.status === 'rejected')
          this.#log.warn({ err: r.reason, service: group[i]?.name }, 'stop failed');
      });
    }
  }

  /** SIGTERM/SIGINT: drain, then `stopped` resolves (and `onStopped` is called). */
  handleSignals(drainMs: number, onStopped?: () => void): void {
    const handler = (sig: NodeJS.Signals) => {
      void this.stop(`received ${sig}`, drainMs).then(onStopped);
    };
    process.once('SIGTERM', handler);
    process.once('SIGINT', handler);
    void this.#stopped.then(() => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
    });
  }
}
