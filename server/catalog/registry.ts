// Holds the current MachineSet and reloads it when files change (or on SIGHUP). A reload
// that fails keeps the last good set and logs why; requests never see a half-loaded set.
import { type FSWatcher, watch } from 'node:fs';
import { errorMessage } from '../errors.ts';
import type { Stoppable } from '../lifecycle.ts';
import type { Logger } from '../log.ts';
import type { MachineSet } from '../machines/model.ts';
import { loadMachines } from './load.ts';

export class MachineRegistry implements Stoppable {
  readonly name = 'machines';
  #current: MachineSet;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #dir: string;
  readonly #log: Logger;

  /** Throws ConfigError when the initial load fails: startup must stop. */
  constructor(dir: string, log: Logger) {
    this.#dir = dir;
    this.#log = log;
    this.#current = loadMachines(dir);
    log.info(
      { dir, profiles: this.#current.profiles.size, groups: this.#current.groups.length },
      'machines loaded',
    );
  }

  get current(): MachineSet {
    return this.#current;
  }

  /** Reload now; on error keep the last good set. Returns true when the new set is in use. */
  reload(reason: string): boolean {
    try {
      const next = loadMachines(this.#dir);
      if (next.revision !== this.#current.revision) {
        this.#current = next;
        this.#log.info(
          { reason, revision: next.revision, profiles: next.profiles.size, groups: next.groups.length },
          'machines reloaded',
        );
      }
      return true;
    } catch (err) {
      this.#log.error(
        { reason, err: errorMessage(err) },
        'machines reload failed; keeping the last good configuration',
      );
      return false;
    }
  }

  /** Watch the directory (debounced) and SIGHUP. */
  watch(): void {
    try {
      this.#watcher = watch(this.#dir, { recursive: true }, () => {
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.reload('file change'), 200);
      });
      this.#watcher.on('error', (err) =>
        this.#log.warn({ err: errorMessage(err) }, 'machines watch failed; SIGHUP still reloads'),
      );
    } catch (err) {
      this.#log.warn({ err: errorMessage(err) }, 'cannot watch machinesDir; SIGHUP still reloads');
    }
    process.on('SIGHUP', this.#onHup);
  }

  readonly #onHup = () => {
    this.reload('SIGHUP');
  };

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#watcher?.close();
    process.off('SIGHUP', this.#onHup);
  }
}
