// The warm-pool seam (docs/pool.md): which machines of a pool group are written and waiting,
// and the claims that take them into service. SQLite keeps it in the state database
// (sqlite-pool.ts, its own tables and schema version); the in-memory store mirrors it
// (memory-pool.ts). The contract tests (fixtures/pool-contract.ts) run against both.
//
// Exclusive decisions are made inside one transaction with the write they guard:
// - claim: the candidates are read and each is taken with a conditional UPDATE
//   (`… WHERE mac = ? AND state = 'pooled'`), all in one IMMEDIATE transaction: a machine is
//   never claimed twice, also by concurrent claims from several processes. A PostgreSQL
//   implementation selects the candidates `FOR UPDATE SKIP LOCKED` (oldest pooled first)
//   and takes them with the same conditional UPDATE;
// - release and delivery of a claim, entering a refresh slot: conditional as well.
import { ConflictError, NotFoundError } from '../errors.ts';
import type { Facts, Mac } from '../machines/identity.ts';

/**
 * - pooling: a pool attempt is open, the node is writing (or checking) its disk;
 * - pooled: written, waiting in RAM (long-polling) for a claim;
 * - claimed: taken by a claim (its profile and metadata are the machine's from now on);
 * - vanished: pooled, but it stopped long-polling (pool.vanishAfter): out of the pool.
 */
export const POOL_STATES = ['pooling', 'pooled', 'claimed', 'vanished'] as const;
export type PoolState = (typeof POOL_STATES)[number];

export interface PoolClaim {
  /** The profile the machine runs from its claim on, and the metadata added to its group's. */
  profile: string;
  metadata: Record<string, unknown>;
  claimedAt: string;
  /** When the waiting node received it (null: not yet; a reinstall path delivers nothing). */
  deliveredAt: string | null;
  /** The claimed system's first boot (its `first-boot` report). */
  firstBootAt: string | null;
}

/** What a pooled node's disk holds (its `pooled` report). */
export interface PooledDisk {
  version: string;
  disk: string;
  imageSha256: string;
}

export interface PoolMember {
  mac: Mac;
  /** The pool group it entered through. */
  group: string;
  state: PoolState;
  /** The pool attempt (its install credential authenticates the long-poll); null after a release. */
  attemptId: number | null;
  /** The disk as last reported `pooled`; null before the first report. */
  disk: PooledDisk | null;
  enteredAt: string;
  pooledAt: string | null;
  lastPollAt: string | null;
  /** Set when the node was told to refresh (rewrite a newer release); cleared once pooled again. */
  refreshSince: string | null;
  claim: PoolClaim | null;
}

/** A pooled member with the facts its machine last booted with (for selectors). */
export interface PoolCandidate extends PoolMember {
  facts: Facts;
}

export interface ClaimSelection {
  /** Only members of these pool groups (the claim profile's pools). */
  groups: readonly string[];
  /** One machine by MAC; else the oldest pooled `count` matching `matches`. */
  mac?: Mac | undefined;
  count: number;
  matches: (candidate: PoolCandidate) => boolean;
  /** Members holding this release go first (their claim needs no rewrite). */
  preferVersion?: string | undefined;
  claim: { profile: string; metadata: Record<string, unknown>; at: string };
}

export interface PoolStore {
  /** A pool attempt opened: the member is pooling with it (a claim it had is dropped). */
  enter(mac: Mac, group: string, attemptId: number, at: string): Promise<PoolMember>;
  /** The node reported `pooled` on `attemptId`; undefined when that is not its pool attempt. */
  pooled(mac: Mac, attemptId: number, disk: PooledDisk, at: string): Promise<PoolMember | undefined>;
  get(mac: Mac): Promise<PoolMember | undefined>;
  /** Every member, oldest entered first. */
  list(): Promise<PoolMember[]>;
  /**
   * Exactly once: the selected members, all claimed in one transaction, or a ConflictError /
   * NotFoundError naming why (too few pooled machines match, no such pooled machine).
   */
  claim(selection: ClaimSelection): Promise<PoolMember[]>;
  /** A long-poll arrived (liveness for pool.vanishAfter). */
  polled(mac: Mac, at: string): Promise<void>;
  /** The claim was handed to the node; false when it is no longer claimed (released). */
  delivered(mac: Mac, at: string): Promise<boolean>;
  /**
   * Drop the claim. Not yet delivered: the member is pooled again (`pooled`); delivered (the
   * node is installing or in service): it leaves the pool (`left`: its next boot re-enters).
   * undefined when it is not claimed.
   */
  release(mac: Mac): Promise<'pooled' | 'left' | undefined>;
  /** Pooled members that last polled before `before`: now vanished (returned). */
  vanish(before: string): Promise<PoolMember[]>;
  /**
   * Take a refresh slot of the member's group (at most `limit` refreshing); false if none.
   * Slots taken before `staleBefore` no longer count (a node that died while rewriting).
   */
  startRefresh(mac: Mac, limit: number, at: string, staleBefore: string): Promise<boolean>;
  /** The claimed machine booted; undefined when it has no claim awaiting its first boot. */
  firstBoot(mac: Mac, at: string): Promise<PoolMember | undefined>;
}

/** The claim order: members holding the preferred release first, then oldest pooled first. */
export function claimOrder(preferVersion: string | undefined) {
  return (a: PoolMember, b: PoolMember): number => {
    const pa = a.disk?.version === preferVersion ? 0 : 1;
    const pb = b.disk?.version === preferVersion ? 0 : 1;
    if (pa !== pb) return pa - pb;
    const ta = a.pooledAt ?? '';
    const tb = b.pooledAt ?? '';
    return ta < tb ? -1 : ta > tb ? 1 : a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0;
  };
}

/**
 * The members a claim takes, from the pooled candidates of its groups (pure; the store runs
 * it inside its transaction). NotFoundError: `mac` is not a pooled member of those groups;
 * ConflictError: fewer than `count` match.
 */
export function pickClaimed(
  candidates: readonly PoolCandidate[],
  selection: ClaimSelection,
): PoolCandidate[] {
  const matching = claimCandidates(candidates, selection);
  if (matching.length < selection.count) throw tooFew(selection, matching.length);
  return matching.slice(0, selection.count);
}

/** Every candidate the claim could take, in claim order (the one `mac`, or NotFoundError). */
export function claimCandidates(
  candidates: readonly PoolCandidate[],
  selection: ClaimSelection,
): PoolCandidate[] {
  const pooled = candidates.filter((c) => c.state === 'pooled' && selection.groups.includes(c.group));
  if (selection.mac !== undefined) {
    const one = pooled.find((c) => c.mac === selection.mac);
    if (!one) throw tooFew(selection, 0);
    if (!selection.matches(one))
      throw new ConflictError(`pooled machine ${selection.mac} does not match the claim's selector`);
    return [one];
  }
  return pooled.filter(selection.matches).sort(claimOrder(selection.preferVersion));
}

/** The claim cannot be met: `found` of its machines could be taken. */
export function tooFew(selection: ClaimSelection, found: number): Error {
  const pool = selection.groups.join(', ');
  if (selection.mac !== undefined)
    return new NotFoundError(`no pooled machine ${selection.mac} in pool ${pool}`);
  return new ConflictError(
    `asked for ${selection.count} machine(s) but only ${found} pooled machine(s) of pool ${pool} match: nothing was claimed`,
  );
}
