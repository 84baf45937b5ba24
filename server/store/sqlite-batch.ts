// Group commit for the SQLite store. A boot storm is hundreds of small write transactions a
// second (an attempt opened per /ipxe, an event per download); each COMMIT writes its pages
// to the WAL again. Writes called in one turn of the event loop run in call order inside one
// BEGIN IMMEDIATE … COMMIT, each in its own savepoint (a nested better-sqlite3 transaction):
// one that throws is rolled back alone and rejects alone; a COMMIT that fails rejects them
// all (nothing of the batch is stored). A read called while writes are queued queues behind
// them, so every caller still sees the effects of the calls it made before, in order.
import type Database from 'better-sqlite3';

interface Op {
  fn: () => unknown;
  /** A write runs in its own savepoint; a read as it is. */
  write: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  ok?: boolean;
  value?: unknown;
  error?: unknown;
}

export class GroupCommit {
  readonly #map: (err: unknown) => unknown;
  readonly #run: Database.Transaction<(ops: Op[]) => void>;
  #queue: Op[] = [];

  /** `map`: what a failure becomes for its caller (the store's StorageError mapping). */
  constructor(db: Database.Database, map: (err: unknown) => unknown) {
    this.#map = map;
    // nested in #run, a better-sqlite3 transaction is a SAVEPOINT, rolled back when fn throws
    const savepoint = db.transaction((fn: () => unknown) => fn());
    this.#run = db.transaction((ops: Op[]) => {
      for (const op of ops) {
        // a failure SQLite answers by rolling back the whole transaction (disk full, I/O)
        // must not leave the rest of the batch to run outside of one
        if (!db.inTransaction) throw new BatchAborted();
        try {
          op.value = op.write ? savepoint(op.fn) : op.fn();
          op.ok = true;
        } catch (err) {
          op.error = err;
        }
      }
      if (!db.inTransaction) throw new BatchAborted();
    });
  }

  /** Run `fn` in the next batch, in a savepoint of its own. */
  write<T>(fn: () => T): Promise<T> {
    return this.#enqueue(fn, true);
  }

  /** Run `fn` now, or after the queued writes when there are any. */
  read<T>(fn: () => T): Promise<T> {
    if (this.#queue.length === 0) {
      try {
        return Promise.resolve(fn());
      } catch (err) {
        return Promise.reject(this.#map(err));
      }
    }
    return this.#enqueue(fn, false);
  }

  /** Run what is queued now (before the database is closed). */
  flush(): void {
    const ops = this.#queue;
    if (ops.length === 0) return;
    this.#queue = [];
    let failed: unknown;
    try {
      this.#run.immediate(ops);
    } catch (err) {
      failed = err instanceof BatchAborted ? firstError(ops) : err;
    }
    for (const op of ops) {
      if (op.error !== undefined) op.reject(this.#map(op.error));
      else if (failed !== undefined || !op.ok) op.reject(this.#map(failed));
      else op.resolve(op.value);
    }
  }

  #enqueue<T>(fn: () => T, write: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#queue.length === 0) setImmediate(() => this.flush());
      this.#queue.push({ fn, write, resolve: resolve as (value: unknown) => void, reject });
    });
  }
}

class BatchAborted extends Error {}

function firstError(ops: readonly Op[]): unknown {
  return ops.find((op) => op.error !== undefined)?.error ?? new Error('state database: transaction aborted');
}
