// The update store in PostgreSQL: the same tables as sqlite-store.ts, its own schema version
// (`update_schema`, migrated under its own advisory lock), and the same atomic decisions made
// across instances: a slot is counted and taken in one transaction holding the group's
// advisory lock, so instances racing for the last slot of a rollout never exceed
// maxConcurrent; the unknown-client bound and machine-id binding lock likewise.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { ConfigError, errorMessage } from '../errors.ts';
import { type Mac, storedMac } from '../machines/identity.ts';
import { createPool, describeUrl, guarded, type Queryable, transaction } from '../store/pg-pool.ts';
import type { BindResult, PauseRecord, UpdateClient, UpdateStore, UpdateSummary } from './client.ts';

const MIGRATION_LOCK = 0x75706474; // 'updt': pg_advisory_lock(key, 1)

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE update_machine_ids (
     machine_id TEXT PRIMARY KEY,
     mac TEXT NOT NULL UNIQUE,
     bound_at TEXT NOT NULL
   );
   CREATE TABLE update_clients (
     machine_id TEXT PRIMARY KEY,
     mac TEXT,
     grp TEXT,
     track TEXT NOT NULL,
     board TEXT NOT NULL,
     oem TEXT NOT NULL,
     version TEXT NOT NULL,
     target TEXT,
     state TEXT NOT NULL,
     slot_since TEXT,
     last_check TEXT,
     last_result TEXT,
     error_code INTEGER,
     ip TEXT NOT NULL,
     first_seen TEXT NOT NULL,
     last_seen TEXT NOT NULL
   );
   CREATE INDEX update_clients_mac ON update_clients(mac);
   CREATE INDEX update_clients_slots ON update_clients(grp, slot_since);
   CREATE TABLE update_pauses (grp TEXT PRIMARY KEY, at TEXT NOT NULL, by TEXT NOT NULL);`,
];

const COLUMNS = [
  'machine_id',
  'mac',
  'grp',
  'track',
  'board',
  'oem',
  'version',
  'target',
  'state',
  'slot_since',
  'last_check',
  'last_result',
  'error_code',
  'ip',
  'first_seen',
  'last_seen',
] as const;

type Row = { [K in (typeof COLUMNS)[number]]: string | number | null };

const UPSERT = `INSERT INTO update_clients (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
  ON CONFLICT (machine_id) DO UPDATE SET ${COLUMNS.filter((c) => c !== 'machine_id' && c !== 'first_seen')
    .map((c) => `${c} = excluded.${c}`)
    .join(', ')}`;

/** An advisory lock key (bigint literal) for one kind of exclusive update decision. */
function lockKey(what: string): string {
  return createHash('sha1').update(`railyard-updates:${what}`).digest().readBigInt64BE(0).toString();
}

export async function openPgUpdateStore(o: {
  url: string;
  schema?: string;
  poolSize?: number;
}): Promise<UpdateStore> {
  const pool = createPool({ url: o.url, max: o.poolSize ?? 4, ...(o.schema ? { schema: o.schema } : {}) });
  const where = describeUrl(o.url);
  try {
    await migrate(pool, where, o.schema);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`state.url (${where}): cannot open the update tables: ${errorMessage(err)}`, {
      key: 'state.url',
    });
  }
  return new PgUpdateStore(pool);
}

async function migrate(pool: pg.Pool, where: string, schema: string | undefined): Promise<void> {
  const client = await pool.connect();
  const lost = () => undefined;
  client.on('error', lost);
  try {
    await client.query('SELECT pg_advisory_lock($1, 1)', [MIGRATION_LOCK]);
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query('CREATE TABLE IF NOT EXISTS update_schema (version INTEGER NOT NULL)');
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM update_schema');
    const current = rows[0]?.v ?? 0;
    if (current > MIGRATIONS.length)
      throw new ConfigError(
        `state.url (${where}): update tables schema version ${current} is newer than this railyard supports (${MIGRATIONS.length})`,
        { key: 'state.url' },
      );
    for (let v = current; v < MIGRATIONS.length; v++) {
      await client.query('BEGIN');
      try {
        await client.query(MIGRATIONS[v] as string);
        await client.query('INSERT INTO update_schema (version) VALUES ($1)', [v + 1]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
  } finally {
    client.off('error', lost);
    client.release(true); // also drops the session advisory lock
  }
}

class PgUpdateStore implements UpdateStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  #one<T extends pg.QueryResultRow>(sql: string, params: unknown[] = [], q: Queryable = this.#pool) {
    return guarded(async () => (await q.query<T>(sql, params)).rows);
  }

  async macFor(machineId: string): Promise<Mac | undefined> {
    const rows = await this.#one<{ mac: string }>(
      'SELECT mac FROM update_machine_ids WHERE machine_id = $1',
      [machineId],
    );
    return rows[0] && storedMac(rows[0].mac);
  }

  bind(machineId: string, mac: Mac, at: string): Promise<BindResult> {
    return transaction(
      this.#pool,
      async (c) => {
        const other = (
          await c.query<{ mac: string }>('SELECT mac FROM update_machine_ids WHERE machine_id = $1', [
            machineId,
          ])
        ).rows[0];
        if (other && other.mac !== mac)
          return { value: { ok: false, boundTo: storedMac(other.mac) } as BindResult };
        await c.query('DELETE FROM update_clients WHERE mac = $1 AND machine_id != $2', [mac, machineId]);
        await c.query('DELETE FROM update_machine_ids WHERE mac = $1', [mac]);
        await c.query('INSERT INTO update_machine_ids (machine_id, mac, bound_at) VALUES ($1, $2, $3)', [
          machineId,
          mac,
          at,
        ]);
        await c.query('UPDATE update_clients SET mac = $1 WHERE machine_id = $2', [mac, machineId]);
        return { value: { ok: true } as BindResult };
      },
      `SELECT pg_advisory_xact_lock(${lockKey('bind')});`,
    );
  }

  async get(machineId: string): Promise<UpdateClient | undefined> {
    const rows = await this.#one<Row>('SELECT * FROM update_clients WHERE machine_id = $1', [machineId]);
    return rows[0] && toClient(rows[0]);
  }

  async forMac(mac: Mac): Promise<UpdateClient | undefined> {
    const rows = await this.#one<Row>(
      'SELECT * FROM update_clients WHERE mac = $1 ORDER BY last_seen DESC LIMIT 1',
      [mac],
    );
    return rows[0] && toClient(rows[0]);
  }

  async list(page?: { offset: number; limit: number }): Promise<UpdateClient[]> {
    const order = 'SELECT * FROM update_clients ORDER BY mac IS NULL, mac, machine_id';
    const rows = page
      ? await this.#one<Row>(`${order} LIMIT $1 OFFSET $2`, [page.limit, page.offset])
      : await this.#one<Row>(order);
    return rows.map(toClient);
  }

  async summary(): Promise<UpdateSummary> {
    const rows = await this.#one<{ version: string; n: number; unknown: number }>(
      'SELECT version, count(*) AS n, count(*) FILTER (WHERE mac IS NULL) AS unknown FROM update_clients GROUP BY version',
    );
    return {
      total: rows.reduce((a, r) => a + r.n, 0),
      unknown: rows.reduce((a, r) => a + r.unknown, 0),
      versions: rows.map((r) => ({ version: r.version, machines: r.n })),
    };
  }

  save(client: UpdateClient, maxUnknown: number): Promise<boolean> {
    return transaction(
      this.#pool,
      async (c) => {
        const exists = (
          await c.query('SELECT 1 FROM update_clients WHERE machine_id = $1', [client.machineId])
        ).rowCount;
        if (!exists && client.mac === null) {
          const { rows } = await c.query<{ n: number }>(
            'SELECT count(*) AS n FROM update_clients WHERE mac IS NULL',
          );
          if ((rows[0]?.n ?? 0) >= maxUnknown) {
            const victim = (
              await c.query<{ machine_id: string }>(
                'SELECT machine_id FROM update_clients WHERE mac IS NULL AND slot_since IS NULL ORDER BY last_seen LIMIT 1',
              )
            ).rows[0];
            if (!victim) return { value: false };
            await c.query('DELETE FROM update_clients WHERE machine_id = $1', [victim.machine_id]);
          }
        }
        await c.query(UPSERT, toParams(client));
        return { value: true };
      },
      // One lock for the unknown-client bound: two new unknown clients must not both fit.
      client.mac === null ? `SELECT pg_advisory_xact_lock(${lockKey('unknown-clients')});` : '',
    );
  }

  takeSlot(client: UpdateClient, max: number, cutoff: string): Promise<boolean> {
    const group = client.group;
    if (group === null) return Promise.resolve(false);
    return transaction(
      this.#pool,
      async (c) => {
        const { rows } = await c.query<{ n: number }>(
          'SELECT count(*) AS n FROM update_clients WHERE grp = $1 AND slot_since >= $2 AND machine_id != $3',
          [group, cutoff, client.machineId],
        );
        if ((rows[0]?.n ?? 0) >= max) return { value: false };
        await c.query(UPSERT, toParams(client));
        return { value: true };
      },
      `SELECT pg_advisory_xact_lock(${lockKey(`slots:${group}`)});`,
    );
  }

  async slotsInUse(group: string, cutoff: string): Promise<number> {
    const rows = await this.#one<{ n: number }>(
      'SELECT count(*) AS n FROM update_clients WHERE grp = $1 AND slot_since >= $2',
      [group, cutoff],
    );
    return rows[0]?.n ?? 0;
  }

  async targets(board: string, cutoff: string): Promise<string[]> {
    const rows = await this.#one<{ target: string }>(
      'SELECT DISTINCT target FROM update_clients WHERE board = $1 AND slot_since >= $2 AND target IS NOT NULL',
      [board, cutoff],
    );
    return rows.map((r) => r.target);
  }

  async pauses(): Promise<PauseRecord[]> {
    const rows = await this.#one<{ grp: string; at: string; by: string }>(
      'SELECT * FROM update_pauses ORDER BY grp',
    );
    return rows.map((r) => ({ group: r.grp, at: r.at, by: r.by }));
  }

  async setPaused(group: string, paused: boolean, at: string, by: string): Promise<void> {
    if (paused)
      await this.#one(
        'INSERT INTO update_pauses (grp, at, by) VALUES ($1, $2, $3) ON CONFLICT (grp) DO NOTHING',
        [group, at, by],
      );
    else await this.#one('DELETE FROM update_pauses WHERE grp = $1', [group]);
  }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => undefined);
  }
}

function toParams(c: UpdateClient): unknown[] {
  return [
    c.machineId,
    c.mac,
    c.group,
    c.track,
    c.board,
    c.oem,
    c.version,
    c.target,
    c.state,
    c.slotSince,
    c.lastCheck,
    c.lastResult,
    c.errorCode,
    c.ip,
    c.firstSeen,
    c.lastSeen,
  ];
}

function toClient(r: Row): UpdateClient {
  return {
    machineId: r.machine_id as string,
    mac: r.mac === null ? null : storedMac(r.mac as string),
    group: r.grp as string | null,
    track: r.track as string,
    board: r.board as string,
    oem: r.oem as string,
    version: r.version as string,
    target: r.target as string | null,
    state: r.state as UpdateClient['state'],
    slotSince: r.slot_since as string | null,
    lastCheck: r.last_check as string | null,
    lastResult: r.last_result as string | null,
    errorCode: r.error_code as number | null,
    ip: r.ip as string,
    firstSeen: r.first_seen as string,
    lastSeen: r.last_seen as string,
  };
}
