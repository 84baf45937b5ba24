// The warm pool in memory, with the SQLite store's semantics (sqlite-pool.ts): each call is
// synchronous between awaits, so every decision is atomic like a transaction.
import type { Facts, Mac } from '../machines/identity.ts';
import { type PoolMember, type PoolStore, pickClaimed } from './pool-store.ts';

export function memoryPool(factsOf: (mac: Mac) => Facts | undefined): PoolStore {
  const rows = new Map<string, PoolMember>();
  const copy = (m: PoolMember | undefined): PoolMember | undefined =>
    m && {
      ...m,
      disk: m.disk && { ...m.disk },
      claim: m.claim && { ...m.claim, metadata: { ...m.claim.metadata } },
    };
  const set = (m: PoolMember) => {
    rows.set(m.mac, m);
    return copy(m) as PoolMember;
  };
  return {
    async enter(mac, group, attemptId, at) {
      const before = rows.get(mac);
      return set({
        mac,
        group,
        state: 'pooling',
        attemptId,
        disk: before?.disk ?? null,
        enteredAt: at,
        pooledAt: before?.pooledAt ?? null,
        lastPollAt: before?.lastPollAt ?? null,
        refreshSince: before?.refreshSince ?? null,
        claim: null,
      });
    },
    async pooled(mac, attemptId, disk, at) {
      const m = rows.get(mac);
      if (!m || m.attemptId !== attemptId || (m.state !== 'pooling' && m.state !== 'pooled'))
        return undefined;
      return set({
        ...m,
        state: 'pooled',
        disk: { ...disk },
        pooledAt: at,
        lastPollAt: at,
        refreshSince: null,
      });
    },
    async get(mac) {
      return copy(rows.get(mac));
    },
    async list() {
      return [...rows.values()]
        .sort((a, b) =>
          a.enteredAt < b.enteredAt ? -1 : a.enteredAt > b.enteredAt ? 1 : a.mac < b.mac ? -1 : 1,
        )
        .map((m) => copy(m) as PoolMember);
    },
    async claim(selection) {
      const pool = [...rows.values()]
        .filter((m) => m.state === 'pooled')
        .map((m) => ({ ...(copy(m) as PoolMember), facts: factsOf(m.mac) ?? {} }));
      const picked = pickClaimed(pool, selection);
      const { profile, metadata, at } = selection.claim;
      return picked.map((p) => {
        const m = rows.get(p.mac) as PoolMember;
        const claim = {
          profile,
          metadata: { ...metadata },
          claimedAt: at,
          deliveredAt: null,
          firstBootAt: null,
        };
        return set({ ...m, state: 'claimed', refreshSince: null, claim });
      });
    },
    async polled(mac, at) {
      const m = rows.get(mac);
      if (m) set({ ...m, lastPollAt: at });
    },
    async delivered(mac, at) {
      const m = rows.get(mac);
      if (m?.state !== 'claimed' || !m.claim) return false;
      set({ ...m, claim: { ...m.claim, deliveredAt: m.claim.deliveredAt ?? at } });
      return true;
    },
    async release(mac) {
      const m = rows.get(mac);
      if (m?.state !== 'claimed' || !m.claim) return undefined;
      if (m.claim.deliveredAt === null) {
        set({ ...m, state: 'pooled', claim: null });
        return 'pooled';
      }
      set({ ...m, state: 'pooling', attemptId: null, claim: null });
      return 'left';
    },
    async vanish(before) {
      const gone: PoolMember[] = [];
      for (const m of rows.values()) {
        if (m.state === 'pooled' && (m.lastPollAt ?? m.pooledAt ?? '') < before)
          gone.push(set({ ...m, state: 'vanished', refreshSince: null }));
      }
      return gone;
    },
    async startRefresh(mac, limit, at, staleBefore) {
      const m = rows.get(mac);
      if (m?.state !== 'pooled' || m.refreshSince !== null) return false;
      const busy = [...rows.values()].filter(
        (o) =>
          o.group === m.group &&
          o.refreshSince !== null &&
          o.refreshSince >= staleBefore &&
          (o.state === 'pooled' || o.state === 'pooling'),
      ).length;
      if (busy >= limit) return false;
      set({ ...m, refreshSince: at });
      return true;
    },
    async firstBoot(mac, at) {
      const m = rows.get(mac);
      if (m?.state !== 'claimed' || !m.claim || m.claim.firstBootAt !== null) return undefined;
      return set({ ...m, claim: { ...m.claim, firstBootAt: at } });
    },
  };
}
