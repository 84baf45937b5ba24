// The warm pool in the state database: its own table and schema version (`pool_schema`),
// so it migrates independently of the machine store's PRAGMA user_version. Every decision
// that must happen once (claim, delivery, release, a refresh slot) is a conditional UPDATE
// inside an IMMEDIATE transaction (pool-store.ts).
import type Database from 'better-sqlite3';
import { ConfigError } from '../errors.ts';
import { type Facts, type Mac, storedMac } from '../machines/identity.ts';
import {
  type ClaimSelection,
  type PoolCandidate,
  type PooledDisk,
  type PoolMember,
  type PoolStore,
  pickClaimed,
} from './pool-store.ts';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE pool_members (
     mac TEXT PRIMARY KEY,
     grp TEXT NOT NULL,
     state TEXT NOT NULL,
     attempt_id INTEGER,
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
   ) STRICT;
   CREATE INDEX pool_members_claimable ON pool_members(grp, state, pooled_at);`,
];

export interface PoolRow {
  mac: string;
  grp: string;
  state: PoolMember['state'];
  attempt_id: number | null;
  version: string | null;
  disk: string | null;
  image_sha256: string | null;
  entered_at: string;
  pooled_at: string | null;
  last_poll_at: string | null;
  refresh_since: string | null;
  claim_profile: string | null;
  claim_metadata: string | null;
  claimed_at: string | null;
  delivered_at: string | null;
  first_boot_at: string | null;
}

export function migratePool(db: Database.Database, file: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS pool_schema (version INTEGER NOT NULL) STRICT');
  const current =
    (db.prepare('SELECT max(version) AS v FROM pool_schema').get() as { v: number | null }).v ?? 0;
  if (current > MIGRATIONS.length)
    throw new ConfigError(
      `${file}: pool tables schema version ${current} is newer than this railyard supports (${MIGRATIONS.length}); run a newer railyard`,
      { file },
    );
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.prepare('INSERT INTO pool_schema (version) VALUES (?)').run(v + 1);
    }).immediate();
  }
}

/** `guard` maps SQLite failures to StorageError (the machine store's). */
export function sqlitePool(db: Database.Database, guard: <T>(fn: () => T) => T): PoolStore {
  const get = db.prepare<[string], PoolRow>('SELECT * FROM pool_members WHERE mac = ?');
  const all = db.prepare<[], PoolRow>('SELECT * FROM pool_members ORDER BY entered_at, mac');
  const upsertEnter = db.prepare<{ mac: string; grp: string; attempt: number; at: string }>(
    `INSERT INTO pool_members (mac, grp, state, attempt_id, entered_at) VALUES (@mac, @grp, 'pooling', @attempt, @at)
     ON CONFLICT(mac) DO UPDATE SET grp = @grp, state = 'pooling', attempt_id = @attempt, entered_at = @at,
       claim_profile = NULL, claim_metadata = NULL, claimed_at = NULL, delivered_at = NULL, first_boot_at = NULL`,
  );
  const setPooled = db.prepare<PooledDisk & { mac: string; attempt: number; at: string }>(
    `UPDATE pool_members SET state = 'pooled', version = @version, disk = @disk, image_sha256 = @imageSha256,
       pooled_at = @at, last_poll_at = @at, refresh_since = NULL
     WHERE mac = @mac AND attempt_id = @attempt AND state IN ('pooling', 'pooled')`,
  );
  const candidates = db.prepare<[], PoolRow & { facts: string | null }>(
    `SELECT p.*, m.facts FROM pool_members p LEFT JOIN machines m ON m.mac = p.mac WHERE p.state = 'pooled'`,
  );
  const take = db.prepare<[string, string, string, string]>(
    `UPDATE pool_members SET state = 'claimed', claim_profile = ?, claim_metadata = ?, claimed_at = ?,
       refresh_since = NULL WHERE mac = ? AND state = 'pooled'`,
  );
  const polled = db.prepare<[string, string]>('UPDATE pool_members SET last_poll_at = ? WHERE mac = ?');
  const delivered = db.prepare<[string, string]>(
    `UPDATE pool_members SET delivered_at = coalesce(delivered_at, ?) WHERE mac = ? AND state = 'claimed'`,
  );
  const releaseUndelivered = db.prepare<[string]>(
    `UPDATE pool_members SET state = 'pooled', claim_profile = NULL, claim_metadata = NULL, claimed_at = NULL
     WHERE mac = ? AND state = 'claimed' AND delivered_at IS NULL`,
  );
  const releaseDelivered = db.prepare<[string]>(
    `UPDATE pool_members SET state = 'pooling', attempt_id = NULL, claim_profile = NULL, claim_metadata = NULL,
       claimed_at = NULL, delivered_at = NULL, first_boot_at = NULL WHERE mac = ? AND state = 'claimed'`,
  );
  const vanish = db.prepare<[string], PoolRow>(
    `UPDATE pool_members SET state = 'vanished', refresh_since = NULL
     WHERE state = 'pooled' AND coalesce(last_poll_at, pooled_at) < ? RETURNING *`,
  );
  const refreshing = db.prepare<[string, string], { n: number }>(
    `SELECT count(*) AS n FROM pool_members
     WHERE grp = ? AND refresh_since >= ? AND state IN ('pooled', 'pooling')`,
  );
  const startRefresh = db.prepare<[string, string]>(
    `UPDATE pool_members SET refresh_since = ? WHERE mac = ? AND state = 'pooled' AND refresh_since IS NULL`,
  );
  const firstBoot = db.prepare<[string, string], PoolRow>(
    `UPDATE pool_members SET first_boot_at = ? WHERE mac = ? AND state = 'claimed' AND first_boot_at IS NULL RETURNING *`,
  );

  const claimTx = db.transaction((selection: ClaimSelection): PoolMember[] => {
    const pool = candidates
      .all()
      .map((r) => ({ ...toMember(r), facts: JSON.parse(r.facts ?? '{}') as Facts }));
    const picked = pickClaimed(pool as PoolCandidate[], selection);
    const { profile, metadata, at } = selection.claim;
    for (const m of picked) {
      // In one IMMEDIATE transaction nothing else can take it; the condition states the rule.
      if (take.run(profile, JSON.stringify(metadata), at, m.mac).changes !== 1)
        throw new Error(`pool claim: ${m.mac} was taken concurrently`);
    }
    return picked.map((m) => toMember(get.get(m.mac) as PoolRow));
  });
  const releaseTx = db.transaction((mac: Mac): 'pooled' | 'left' | undefined => {
    if (releaseUndelivered.run(mac).changes === 1) return 'pooled';
    if (releaseDelivered.run(mac).changes === 1) return 'left';
    return undefined;
  });
  const refreshTx = db.transaction((mac: Mac, limit: number, at: string, stale: string): boolean => {
    const row = get.get(mac);
    if (row?.state !== 'pooled' || row.refresh_since !== null) return false;
    if ((refreshing.get(row.grp, stale)?.n ?? 0) >= limit) return false;
    return startRefresh.run(at, mac).changes === 1;
  });

  const member = (mac: Mac) => {
    const r = get.get(mac);
    return r ? toMember(r) : undefined;
  };
  return {
    async enter(mac, group, attemptId, at) {
      return guard(() => {
        upsertEnter.run({ mac, grp: group, attempt: attemptId, at });
        return member(mac) as PoolMember;
      });
    },
    async pooled(mac, attemptId, disk: PooledDisk, at) {
      return guard(() =>
        setPooled.run({ ...disk, mac, attempt: attemptId, at }).changes === 1 ? member(mac) : undefined,
      );
    },
    async get(mac) {
      return guard(() => member(mac));
    },
    async list() {
      return guard(() => all.all().map(toMember));
    },
    async claim(selection) {
      return guard(() => claimTx.immediate(selection));
    },
    async polled(mac, at) {
      guard(() => polled.run(at, mac));
    },
    async delivered(mac, at) {
      return guard(() => delivered.run(at, mac).changes === 1);
    },
    async release(mac) {
      return guard(() => releaseTx.immediate(mac));
    },
    async vanish(before) {
      return guard(() => vanish.all(before).map(toMember));
    },
    async startRefresh(mac, limit, at, staleBefore) {
      return guard(() => refreshTx.immediate(mac, limit, at, staleBefore));
    },
    async firstBoot(mac, at) {
      return guard(() => {
        const r = firstBoot.get(at, mac);
        return r ? toMember(r) : undefined;
      });
    },
  };
}

export function toMember(r: PoolRow): PoolMember {
  return {
    mac: storedMac(r.mac),
    group: r.grp,
    state: r.state,
    attemptId: r.attempt_id,
    disk:
      r.version !== null && r.disk !== null && r.image_sha256 !== null
        ? { version: r.version, disk: r.disk, imageSha256: r.image_sha256 }
        : null,
    enteredAt: r.entered_at,
    pooledAt: r.pooled_at,
    lastPollAt: r.last_poll_at,
    refreshSince: r.refresh_since,
    claim:
      r.claim_profile !== null && r.claimed_at !== null
        ? {
            profile: r.claim_profile,
            metadata: JSON.parse(r.claim_metadata ?? '{}') as Record<string, unknown>,
            claimedAt: r.claimed_at,
            deliveredAt: r.delivered_at,
            firstBootAt: r.first_boot_at,
          }
        : null,
  };
}
