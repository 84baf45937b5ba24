// One lifecycle for every listener and background job: one AbortSignal; the first fatal
// error or signal stops everything; SIGTERM/SIGINT let in-flight work drain briefly.
import type { Logger } from './log.ts';

export interface Stoppable {
  readonly name: string;
  /** Stop accepting new work, finish in-flight work by `deadline` (epoch ms), then release. */
  stop(deadline: number): Promise<void>;
}

export class Lifecycle {
  readonly #controller = new AbortController();
  readonly #services: Stoppable[] = [];
  readonly #final: Stoppable[] = [];
  readonly #log: Logger;
  #stopping: Promise<void> | undefined;

  constructor(log: Logger) {
    this.#log = log;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  add(service: Stoppable): void {
    this.#services.push(service);
  }

  /** A resource the others use (the state store): stopped only after every service is down. */
  addFinal(resource: Stoppable): void {
    this.#final.push(resource);
  }

  /**
   * Stop all services in reverse start order; resolves when all are down or the drain time
   * is up. `quiet`: no "shutting down" line (a failed startup reports its one error itself).
   */
  stop(reason: string, drainMs: number, quiet = false): Promise<void> {
    this.#stopping ??= this.#stopAll(reason, drainMs, quiet);
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

  /** SIGTERM/SIGINT: drain and resolve `onStopped` (the CLI then exits 0). */
  handleSignals(drainMs: number, onStopped: () => void): void {
    const handler = (sig: NodeJS.Signals) => {
      void this.stop(`received ${sig}`, drainMs).then(onStopped);
    };
    process.once('SIGTERM', handler);
    process.once('SIGINT', handler);
  }
}
