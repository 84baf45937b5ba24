// Long-polls waiting in this process, by MAC: a claim (or release) wakes its machine's
// waiters at once; `stop` wakes everyone (railyard is shutting down: answer 204 now).
import type { Mac } from '../machines/identity.ts';
export class Waiters {
  readonly #byMac = new Map<Mac, Set<() => void>>();
  #stopped = false;

  /**
   * Resolves when woken, after `ms`, or when `signal` aborts (true: woken by a notify or
   * stop, false: timed out or aborted).
   */
  wait(mac: Mac, ms: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#stopped || signal?.aborted) return Promise.resolve(this.#stopped);
    return new Promise((resolve) => {
      const set = this.#byMac.get(mac) ?? new Set();
      this.#byMac.set(mac, set);
      const done = (woken: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        set.delete(wake);
        if (set.size === 0 && this.#byMac.get(mac) === set) this.#byMac.delete(mac);
        resolve(woken);
      };
      const wake = () => done(true);
      const aborted = () => done(false);
      const timer = setTimeout(() => done(false), ms);
      signal?.addEventListener('abort', aborted, { once: true });
      set.add(wake);
    });
  }

  notify(mac: Mac): void {
    for (const wake of [...(this.#byMac.get(mac) ?? [])]) wake();
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** How many long-polls are waiting now. */
  get size(): number {
    let n = 0;
    for (const set of this.#byMac.values()) n += set.size;
    return n;
  }

  stop(): void {
    this.#stopped = true;
    for (const mac of [...this.#byMac.keys()]) this.notify(mac);
  }
}
