// The warm pool in PostgreSQL (pg-migrations.ts migration 2: pool_members), shared by every
// instance on the database. A claim selects its candidates `FOR UPDATE SKIP LOCKED` (a row
// another instance's claim is taking is skipped, never waited for or taken twice) and takes
// each with the conditional UPDATE the SQLite store uses, in one transaction. A refresh slot
// is taken under the pool group's advisory lock, so two instances never overfill it.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Facts } from '../machines/identity.ts';
import { guarded, transaction } from './pg-pool.ts';
import {
  claimCandidates,
  type PoolCandidate,
  type PoolMember,
  type PoolStore,
  tooFew,
} from './pool-store.ts';
import { type PoolRow, toMember } from './sqlite-pool.ts';

export const PG_POOL_MIGRATION = `CREATE TABLE pool_members (
     mac TEXT PRIMARY KEY,
     grp TEXT NOT NULL,
     state TEXT NOT NULL,
     attempt_id BIGINT,
     version TEXT,
     disk TEXT,
     image_sha256 TEXT,
     entered_at TEXT NOT NULL,
     pooled_at TEXT,
     last_poll_at TEXT,
     refresh_since TEXT,
     claim_profile TEXT,
     claim_metadata TEXT,
     claimed_at TEXT,
     delivered_at TEXT,
     first_boot_at TEXT
   );
   CREATE INDEX pool_members_claimable ON pool_members(grp, state, pooled_at);`;

const CLAIMED = `UPDATE pool_members SET state = 'claimed', claim_profile = $1, claim_metadata = $2, claimed_at = $3,
  refresh_since = NULL
  WHERE mac = (SELECT mac FROM pool_members WHERE mac = $4 AND state = 'pooled' FOR UPDATE SKIP LOCKED)
  RETURNING *`;

/** The group's advisory lock key (refresh slots): 64 bits of SHA-1, a bigint literal. */
function groupLock(group: string): string {
  return createHash('sha1').update(`railyard-pool:${group}`).digest().readBigInt64BE(0).toString();
}

export function pgPoolMembers(pool: pg.Pool): PoolStore {
  const one = async (sql: string, params: unknown[]) =>
    guarded(async () => {
      const r = (await pool.query<PoolRow>(sql, params)).rows[0];
      return r ? toMember(r) : undefined;
    });
  return {
    enter: async (mac, group, attemptId, at) =>
      (await one(
        `INSERT INTO pool_members (mac, grp, state, attempt_id, entered_at) VALUES ($1, $2, 'pooling', $3, $4)
         ON CONFLICT (mac) DO UPDATE SET grp = $2, state = 'pooling', attempt_id = $3, entered_at = $4,
           claim_profile = NULL, claim_metadata = NULL, claimed_at = NULL, delivered_at = NULL, first_boot_at = NULL
         RETURNING *`,
        [mac, group, attemptId, at],
      )) as PoolMember,
    pooled: (mac, attemptId, disk, at) =>
      one(
        `UPDATE pool_members SET state = 'pooled', version = $1, disk = $2, image_sha256 = $3, pooled_at = $4,
           last_poll_at = $4, refresh_since = NULL
         WHERE mac = $5 AND attempt_id = $6 AND state IN ('pooling', 'pooled') RETURNING *`,
        [disk.version, disk.disk, disk.imageSha256, at, mac, attemptId],
      ),
    get: (mac) => one('SELECT * FROM pool_members WHERE mac = $1', [mac]),
    list: () =>
      guarded(async () =>
        (await pool.query<PoolRow>('SELECT * FROM pool_members ORDER BY entered_at, mac')).rows.map(toMember),
      ),
    claim: (selection) =>
      transaction(pool, async (c) => {
        // Read without locks; then take candidates one by one in claim order, each row locked
        // only when no other claim holds it (SKIP LOCKED) and only while still pooled. Too few
        // taken: the transaction rolls back (all or nothing).
        const { rows } = await c.query<PoolRow & { facts: string | null }>(
          `SELECT p.*, m.facts FROM pool_members p LEFT JOIN machines m ON m.mac = p.mac
           WHERE p.state = 'pooled' AND p.grp = ANY($1)`,
          [selection.groups],
        );
        const candidates = rows.map((r) => ({ ...toMember(r), facts: JSON.parse(r.facts ?? '{}') as Facts }));
        const { profile, metadata, at } = selection.claim;
        const taken: PoolMember[] = [];
        for (const m of claimCandidates(candidates as PoolCandidate[], selection)) {
          if (taken.length === selection.count) break;
          const row = (await c.query<PoolRow>(CLAIMED, [profile, JSON.stringify(metadata), at, m.mac]))
            .rows[0];
          if (row) taken.push(toMember(row));
        }
        if (taken.length < selection.count) throw tooFew(selection, taken.length);
        return { value: taken };
      }),
    polled: async (mac, at) => {
      await guarded(() => pool.query('UPDATE pool_members SET last_poll_at = $1 WHERE mac = $2', [at, mac]));
    },
    delivered: async (mac, at) =>
      (await one(
        `UPDATE pool_members SET delivered_at = coalesce(delivered_at, $1) WHERE mac = $2 AND state = 'claimed' RETURNING *`,
        [at, mac],
      )) !== undefined,
    release: (mac) =>
      transaction(pool, async (c) => {
        const back = await c.query(
          `UPDATE pool_members SET state = 'pooled', claim_profile = NULL, claim_metadata = NULL, claimed_at = NULL
           WHERE mac = $1 AND state = 'claimed' AND delivered_at IS NULL`,
          [mac],
        );
        if (back.rowCount === 1) return { value: 'pooled' as const };
        const left = await c.query(
          `UPDATE pool_members SET state = 'pooling', attempt_id = NULL, claim_profile = NULL, claim_metadata = NULL,
             claimed_at = NULL, delivered_at = NULL, first_boot_at = NULL WHERE mac = $1 AND state = 'claimed'`,
          [mac],
        );
        return { value: left.rowCount === 1 ? ('left' as const) : undefined };
      }),
    vanish: (before) =>
      guarded(async () =>
        (
          await pool.query<PoolRow>(
            `UPDATE pool_members SET state = 'vanished', refresh_since = NULL
             WHERE state = 'pooled' AND coalesce(last_poll_at, pooled_at) < $1 RETURNING *`,
            [before],
          )
        ).rows.map(toMember),
      ),
    startRefresh: async (mac, limit, at, staleBefore) => {
      const member = await one('SELECT * FROM pool_members WHERE mac = $1', [mac]);
      if (!member) return false;
      return transaction(
        pool,
        async (c) => {
          const busy = await c.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pool_members
             WHERE grp = $1 AND refresh_since >= $2 AND state IN ('pooled', 'pooling')`,
            [member.group, staleBefore],
          );
          if ((busy.rows[0]?.n ?? 0) >= limit) return { value: false };
          const set = await c.query(
            `UPDATE pool_members SET refresh_since = $1 WHERE mac = $2 AND state = 'pooled' AND refresh_since IS NULL`,
            [at, mac],
          );
          return { value: set.rowCount === 1 };
        },
        `SELECT pg_advisory_xact_lock(${groupLock(member.group)});`,
      );
    },
    firstBoot: (mac, at) =>
      one(
        `UPDATE pool_members SET first_boot_at = $1 WHERE mac = $2 AND state = 'claimed' AND first_boot_at IS NULL RETURNING *`,
        [at, mac],
      ),
  };
}
