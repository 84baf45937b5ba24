// What the pool holds, for the API, the CLI and the dashboard: every member with its state,
// release and claim, each pool group with the release its machines should hold, and counts
// by state and release (railyard_pool_machines).
import type { PoolMember } from '../store/pool-store.ts';
import type { PoolService } from './service.ts';

export interface PoolGroupView {
  id: string;
  profile: string;
  /** The release its machines should hold now; null when not mirrored yet. */
  version: string | null;
  refresh: 'background' | 'on-claim';
}

export interface PoolListing {
  groups: PoolGroupView[];
  members: (PoolMember & { current: boolean })[];
  /** Members by state and the release on their disk ('none' before their first `pooled`). */
  counts: { state: PoolMember['state']; version: string; count: number }[];
}

export async function poolListing(service: PoolService): Promise<PoolListing> {
  const groups: PoolGroupView[] = [];
  for (const g of service.poolGroups())
    groups.push({
      id: g.id,
      profile: g.profile,
      version: (await service.poolVersion(g)) ?? null,
      refresh: service.refreshMode(g),
    });
  const members = (await service.store.list()).map((m) => ({
    ...m,
    current: m.disk !== null && groups.find((g) => g.id === m.group)?.version === m.disk.version,
  }));
  return { groups, members, counts: countMembers(members) };
}

export function countMembers(members: readonly PoolMember[]): PoolListing['counts'] {
  const counts = new Map<string, PoolListing['counts'][number]>();
  for (const m of members) {
    const version = m.disk?.version ?? 'none';
    const key = `${m.state} ${version}`;
    const c = counts.get(key) ?? { state: m.state, version, count: 0 };
    c.count++;
    counts.set(key, c);
  }
  return [...counts.values()].sort((a, b) =>
    `${a.state} ${a.version}` < `${b.state} ${b.version}` ? -1 : 1,
  );
}
