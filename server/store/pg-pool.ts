// The PostgreSQL connection pool (`pg`) and the helpers every pg-*.ts module shares: one
// error mapping (the database's and the network's failures become StorageError, ours pass
// through), transactions, and the URL as it may be shown (never its password).
import pg from 'pg';
import { errorMessage, RailyardError, StorageError } from '../errors.ts';

/** What a query runs on: the pool (autocommit) or a client inside a transaction. */
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

const INT8 = 20;
/** Ids and counts are bigint columns; they stay far below 2^53: plain numbers. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

export interface PoolOptions {
  url: string;
  max: number;
  /** Tests: a schema of their own (created if missing) instead of `public`. */
  schema?: string;
  /** Give up connecting after this long (ms): /ipxe must answer promptly when the DB is away. */
  connectTimeoutMs?: number;
  /** Any one statement (ms). */
  statementTimeoutMs?: number;
}

export function createPool(o: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.max,
    connectionTimeoutMillis: o.connectTimeoutMs ?? 3000,
    idleTimeoutMillis: 30_000,
    statement_timeout: o.statementTimeoutMs ?? 15_000,
    query_timeout: (o.statementTimeoutMs ?? 15_000) + 5000,
    keepAlive: true,
    application_name: 'railyard',
    types,
    ...(o.schema ? { options: `-c search_path=${o.schema}` } : {}),
  });
  // An idle client whose server went away: the pool drops it; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/** host:port/database of a postgres:// URL: what messages show (no user, no password). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `postgres://${u.host || 'localhost'}${u.pathname}`;
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

const NETWORK = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE)$/;
const CONNECTION = /connection|terminat|timeout|timed out|Client has encountered|not queryable|Connection/i;

/** Whether `err` says the database cannot be reached (rather than refusing a statement). */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof pg.DatabaseError) {
    return err instanceof pg.DatabaseError && /^(08|57P0[123])/.test(err.code ?? '');
  }
  const code = (err as NodeJS.ErrnoException).code;
  return (typeof code === 'string' && NETWORK.test(code)) || CONNECTION.test(err.message);
}

/** The database's and the network's failures become StorageError; our own errors pass through. */
export function storageError(err: unknown): unknown {
  if (err instanceof RailyardError) return err;
  if (err instanceof pg.DatabaseError)
    return new StorageError(`state database: ${err.message} (${err.code})`, { cause: err });
  if (isUnreachable(err))
    return new StorageError(`state database unreachable: ${errorMessage(err)}`, { cause: err });
  return err;
}

export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw storageError(err);
  }
}

/**
 * Run `fn` in one transaction (READ COMMITTED; exclusive decisions take a per-machine
 * advisory lock first, see pg.ts). `begin` is sent with BEGIN in one round trip, `end`
 * with COMMIT (both plain SQL without parameters). A client that failed mid-way is
 * destroyed, not returned to the pool.
 */
export async function transaction<T>(
  pool: pg.Pool,
  fn: (c: pg.PoolClient) => Promise<{ value: T; end?: string }>,
  begin = '',
): Promise<T> {
  return guarded(async () => {
    const client = await pool.connect();
    let broken: Error | undefined;
    // A connection lost while checked out is an 'error' event on the client (the running
    // query rejects as well): without a listener it would crash the process.
    const lost = (err: Error) => {
      broken = err;
    };
    client.on('error', lost);
    try {
      await client.query(`BEGIN;${begin}`);
      const { value, end } = await fn(client);
      await client.query(`${end ?? ''}COMMIT`);
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      throw err;
    } finally {
      client.off('error', lost);
      client.release(broken);
    }
  });
}
