// The warm pool (docs/pool.md): claims, releases, what the pool holds, and what follows
// from machines' reports (a `pooled` report fills the pool, a claimed machine's first boot
// ends its claim-to-first-boot clock). Long-polls are long-poll.ts; the exclusive decisions
// are the PoolStore's (store/pool-store.ts).
import type { ReleaseResolver } from '../boot/service.ts';
import { ConflictError, InvalidRequestError, NotFoundError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Mac } from '../machines/identity.ts';
import { matches } from '../machines/match.ts';
import type { Group, MachineSet, Profile } from '../machines/model.ts';
import { missingNames } from '../render/template.ts';
import { sampleView } from '../render/views.ts';
import type { PoolMember, PoolStore } from '../store/pool-store.ts';
import type { Recorded, StateStore } from '../store/state-store.ts';
import type { ClaimRequest } from './claim-request.ts';
import { Waiters } from './waiters.ts';

export interface PoolSettings {
  vanishAfter: number;
  refresh: 'background' | 'on-claim';
  refreshConcurrency: number;
}

export interface PoolServiceDeps {
  store: StateStore;
  machines: () => MachineSet;
  releases: ReleaseResolver;
  settings: PoolSettings;
  log: Logger;
  clock?: () => Date;
  /** A claimed machine reported its first boot, `seconds` after its claim. */
  onFirstBoot?: (seconds: number) => void;
}

export interface Claimed {
  mac: Mac;
  profile: string;
  version: string;
  /** true: the disk already holds the claim's release (config + hand-off); false: it reinstalls. */
  prewritten: boolean;
}

export class PoolService {
  readonly deps: PoolServiceDeps;
  readonly waiters = new Waiters();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(deps: PoolServiceDeps) {
    this.deps = deps;
  }

  get store(): PoolStore {
    return this.deps.store.pool;
  }

  now(): string {
    return (this.deps.clock?.() ?? new Date()).toISOString();
  }

  poolGroups(): Group[] {
    return this.deps.machines().groups.filter((g) => g.pool !== undefined);
  }

  /** The release a pool group's machines should hold now (its base profile's, resolved). */
  async poolVersion(group: Group): Promise<string | undefined> {
    const base = this.deps.machines().profiles.get(group.profile);
    return base && this.deps.releases.resolveVersion(base.channel, base.board, base.version);
  }

  refreshMode(group: Group): PoolSettings['refresh'] {
    return group.pool?.refresh ?? this.deps.settings.refresh;
  }

  /** Claim pooled machines for `request.profile`: all of them or none (ConflictError / NotFoundError). */
  async claim(request: ClaimRequest): Promise<Claimed[]> {
    const set = this.deps.machines();
    const profile = set.profiles.get(request.profile);
    if (!profile) throw new NotFoundError(`claim: no profile ${JSON.stringify(request.profile)}`);
    const groups = this.poolGroups().filter((g) => request.pool === undefined || g.id === request.pool);
    if (groups.length === 0)
      throw new NotFoundError(
        request.pool === undefined
          ? 'claim: no pool group is configured'
          : `claim: no pool group ${request.pool}`,
      );
    for (const g of groups) checkClaimTemplates(profile, g, request.metadata);
    const version = await this.deps.releases.resolveVersion(profile.channel, profile.board, profile.version);
    if (!version)
      throw new ConflictError(
        `claim: release ${profile.channel}/${profile.board} ${profile.version} of profile ${profile.id} is not mirrored yet`,
      );
    const at = this.now();
    const taken = await this.store.claim({
      groups: groups.map((g) => g.id),
      mac: request.mac,
      count: request.count,
      matches: (c) => matches({ ...emptyGroup, selector: request.selector }, { ...c.facts, mac: c.mac }),
      preferVersion: version,
      claim: { profile: profile.id, metadata: request.metadata, at },
    });
    const claimed: Claimed[] = [];
    for (const m of taken) {
      await this.deps.store.recordEvent(
        m.mac,
        { type: 'pool-claimed', source: 'admin', at, data: { profile: profile.id, version } },
        {},
        (a) => (a.id === m.attemptId && a.state === 'pooled' ? 'claimed' : undefined),
      );
      this.waiters.notify(m.mac);
      const base = set.profiles.get(groups.find((g) => g.id === m.group)?.profile ?? '');
      claimed.push({
        mac: m.mac,
        profile: profile.id,
        version,
        prewritten: prewritten(m, base, profile, version),
      });
    }
    this.deps.log.info(
      { profile: profile.id, macs: claimed.map((c) => c.mac) },
      `claimed ${claimed.length} pooled machine(s)`,
    );
    return claimed;
  }

  /**
   * Drop a machine's claim: not yet delivered, it is pooled again; delivered (installing or
   * in service), it is reprovisioned: its next PXE boot re-enters the pool.
   */
  async release(mac: Mac): Promise<'pooled' | 'left'> {
    const outcome = await this.store.release(mac);
    if (!outcome) throw new ConflictError(`release: ${mac} is not claimed`);
    if (outcome === 'pooled') {
      await this.deps.store.recordEvent(
        mac,
        { type: 'pool-released', source: 'admin', data: { to: 'pooled' } },
        {},
        (a) => (a.state === 'claimed' ? 'pooled' : undefined),
      );
    } else {
      await this.deps.store.recordEvent(mac, {
        type: 'pool-released',
        source: 'admin',
        data: { to: 'left' },
      });
      await this.deps.store.recordEvent(
        mac,
        { type: 'reprovision-requested', source: 'admin' },
        {},
        () => 'cancelled',
      );
    }
    this.waiters.notify(mac);
    return outcome;
  }

  /** The store listener (store/observed.ts): `pooled` fills the pool; a claimed first boot stops its clock. */
  readonly onRecorded = async ({ event, attempt }: Recorded): Promise<void> => {
    if (event.type === 'pooled' && attempt) {
      const { version, disk, imageSha256 } = event.data;
      if (typeof version !== 'string' || typeof disk !== 'string' || typeof imageSha256 !== 'string') return;
      await this.store.pooled(event.mac, attempt.id, { version, disk, imageSha256 }, event.at);
    }
    if (event.type === 'first-boot') {
      const member = await this.store.firstBoot(event.mac, event.at);
      if (!member?.claim) return;
      const seconds = (Date.parse(event.at) - Date.parse(member.claim.claimedAt)) / 1000;
      if (seconds >= 0) this.deps.onFirstBoot?.(seconds);
      this.deps.log.info({ mac: event.mac, seconds }, `claim→first-boot ${seconds.toFixed(1)}s`);
    }
  };

  /** Pooled machines that stopped long-polling leave the pool (event pool-vanished, attempt cancelled). */
  async sweep(): Promise<PoolMember[]> {
    const before = new Date(Date.parse(this.now()) - this.deps.settings.vanishAfter).toISOString();
    const gone = await this.store.vanish(before);
    for (const m of gone) {
      await this.deps.store.recordEvent(
        m.mac,
        { type: 'pool-vanished', source: 'http', data: { lastPollAt: m.lastPollAt } },
        {},
        (a) => (a.id === m.attemptId ? 'cancelled' : undefined),
      );
      this.deps.log.warn(
        { mac: m.mac, lastPollAt: m.lastPollAt },
        `pooled machine ${m.mac} vanished (no long-poll)`,
      );
    }
    return gone;
  }

  /** Sweep every quarter of pool.vanishAfter (at most every 30 s), until `stop` or `signal` aborts. */
  start(signal?: AbortSignal): void {
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    if (signal?.aborted) return;
    const every = Math.min(30_000, Math.max(1000, this.deps.settings.vanishAfter / 4));
    this.#sweeper = setInterval(() => {
      this.sweep().catch((err) => this.deps.log.warn({ err: String(err) }, 'pool sweep failed'));
    }, every);
    this.#sweeper.unref();
  }

  readonly name = 'pool';

  async stop(): Promise<void> {
    clearInterval(this.#sweeper);
    this.waiters.stop();
  }
}

/**
 * Whether a claim of `member` for `profile` at `version` needs no rewrite: its disk holds that
 * release of the same channel and board (those of its pool's base profile).
 */
export function prewritten(
  member: PoolMember,
  base: Pick<Profile, 'channel' | 'board'> | undefined,
  profile: Pick<Profile, 'channel' | 'board'>,
  version: string,
): boolean {
  return (
    member.disk?.version === version && base?.channel === profile.channel && base?.board === profile.board
  );
}

const emptyGroup: Group = { id: 'claim', profile: 'claim', selector: {}, metadata: {} };

/** The claim profile's templates must render for this pool's machines with the claim's metadata. */
function checkClaimTemplates(profile: Profile, group: Group, metadata: Record<string, unknown>): void {
  const view = sampleView({ ...group.metadata, ...metadata });
  const missing = missingNames(JSON.stringify(profile.ignitionTemplate), view);
  if (missing.length > 0)
    throw new InvalidRequestError(
      `claim: profile ${profile.id}'s Ignition template uses ${missing.join(', ')}, which pool ${group.id}'s metadata and the claim's metadata do not give`,
    );
}
