// GET /api/v1/machines/<mac>/claim?have=<version>&wait=<s>: a pooled node's long-poll, with
// its pool attempt's install credential. It answers at once when the machine is claimed
// (the claim's payload, or `reinstall` when its disk does not hold the claim's release) or
// should refresh (background refresh: the pool's release moved and a refresh slot is free),
// else as soon as a claim in this process wakes it, else after `wait` seconds with 204.
// Claims made by another process are seen within RECHECK_MS, 2 s (the store is read again).
import { machineView } from '../boot/views.ts';
import { ConflictError, UnauthorizedError } from '../errors.ts';
import type { AttemptTokens } from '../installer/credentials.ts';
import { targetConfig } from '../installer/ignition.ts';
import { authenticateReport } from '../installer/reports.ts';
import { reportUrl } from '../installer/script.ts';
import type { Mac } from '../machines/identity.ts';
import type { PoolMember } from '../store/pool-store.ts';
import type { StoredAttempt } from '../store/state-store.ts';
import { type ClaimPayload, claimedGroup } from './claimed.ts';
import { type PoolService, prewritten } from './service.ts';

const RECHECK_MS = 2000;
/** A refresh slot counts for at most this long (or twice pool.vanishAfter) unless its machine is pooled again. */
const REFRESH_SLOT_MS = 30 * 60_000;

export type PollBody =
  | ClaimPayload
  | { action: 'reinstall'; profile: string; version: string }
  | { action: 'refresh'; version: string };
export type PollAnswer = { status: 204 } | { status: 200; body: PollBody };

export interface ClaimPollDeps {
  pool: PoolService;
  credentials: { tokens(nonce: string): AttemptTokens };
  publicUrl: string;
  recheckMs?: number;
  /** The server's lifecycle signal: once it aborts, long-polls answer 204 (the pool's stop wakes the waiting ones). */
  signal?: AbortSignal;
}

export class ClaimPoller {
  readonly #deps: ClaimPollDeps;

  constructor(deps: ClaimPollDeps) {
    this.#deps = deps;
  }

  /**
   * UnauthorizedError: not this machine's pool attempt's install token; ConflictError: the
   * attempt is closed or the machine is not pooled (the node boots again and re-enters).
   */
  async poll(
    mac: Mac,
    authorization: string | undefined,
    have: string,
    waitSeconds: number,
    signal?: AbortSignal,
  ) {
    const { pool } = this.#deps;
    const member = await pool.store.get(mac);
    const { attempt, credential } = await authenticateReport(
      pool.deps.store,
      mac,
      member?.attemptId ?? 0,
      authorization,
    ).catch(() => {
      throw new UnauthorizedError(`claim long-poll for ${mac}: missing or wrong token for its pool attempt`);
    });
    if (credential !== 'install' || !member)
      throw new UnauthorizedError(`claim long-poll for ${mac}: needs its pool attempt's install token`);
    // A long-poll must end before the member could count as vanished.
    const ms = Math.min(waitSeconds * 1000, pool.deps.settings.vanishAfter / 2 - 1000);
    const deadline = Date.now() + Math.max(0, ms);
    await pool.store.polled(mac, pool.now());
    for (;;) {
      const answer = await this.#check(mac, attempt, have);
      if (answer) return answer;
      const left = deadline - Date.now();
      const stopping = pool.waiters.stopped || this.#deps.signal?.aborted;
      if (left <= 0 || stopping || signal?.aborted) return { status: 204 } as const;
      await pool.waiters.wait(mac, Math.min(left, this.#deps.recheckMs ?? RECHECK_MS), signal);
    }
  }

  async #check(mac: Mac, polled: StoredAttempt, have: string): Promise<PollAnswer | undefined> {
    const { pool } = this.#deps;
    const [member, attempt] = await Promise.all([pool.store.get(mac), pool.deps.store.getAttempt(polled.id)]);
    if (!member || !attempt || member.attemptId !== attempt.id || attempt.closedAt !== null)
      throw new ConflictError(
        `claim long-poll for ${mac}: attempt ${polled.id} is ${attempt?.state ?? 'gone'}, no longer its pool attempt: boot again to re-enter the pool`,
      );
    if (member.state === 'claimed') return this.#deliver(member, attempt);
    if (member.state !== 'pooled')
      throw new ConflictError(`claim long-poll for ${mac}: it is ${member.state}, not pooled`);
    return this.#refresh(member, have);
  }

  async #deliver(member: PoolMember, attempt: StoredAttempt): Promise<PollAnswer | undefined> {
    const { pool } = this.#deps;
    const claim = member.claim;
    if (!claim || !(await pool.store.delivered(member.mac, pool.now()))) return undefined;
    const body: PollBody = (await this.claimPayload(member, attempt)) ?? {
      action: 'reinstall',
      profile: claim.profile,
      version: (await this.#claimVersion(claim.profile)) ?? '',
    };
    await pool.deps.store.recordEvent(member.mac, {
      type: 'claim-delivered',
      source: 'http',
      attemptId: attempt.id,
      data: { action: body.action, profile: claim.profile },
    });
    return { status: 200, body };
  }

  /**
   * The claim as the node writes it: the installed system's Ignition for the claim profile
   * (the pool group with the claim's metadata, the attempt's first-boot token), byte for
   * byte, kernelArguments moved out. undefined when the disk does not hold the claim's
   * release (the machine reinstalls) or `member` has no claim on `attempt`. Also the admin's
   * `target.ign` of a claimed pool attempt.
   */
  async claimPayload(member: PoolMember, attempt: StoredAttempt): Promise<ClaimPayload | undefined> {
    const claim = member.claim;
    if (!claim || member.attemptId !== attempt.id) return undefined;
    const set = this.#deps.pool.deps.machines();
    const group = set.groups.find((g) => g.id === member.group);
    const profile = set.profiles.get(claim.profile);
    const version = await this.#claimVersion(claim.profile);
    const base = group && set.profiles.get(group.profile);
    if (!group || !profile || !version || !prewritten(member, base, profile, version)) return undefined;
    const facts = { ...attempt.facts, mac: member.mac };
    const view = machineView(facts, claimedGroup(group, claim), profile, version, this.#deps.publicUrl);
    const target = targetConfig({
      profile,
      view,
      version,
      reportUrl: reportUrl(this.#deps.publicUrl, member.mac, attempt.id),
      firstBootToken: this.#deps.credentials.tokens(attempt.secrets.nonce).firstBoot,
    });
    // kernel-args.ts checked each argument is one word GRUB and the shell keep as it is
    return {
      action: 'claim',
      profile: profile.id,
      version,
      config: `${JSON.stringify(target.config)}\n`,
      kernelArgs: target.append,
    };
  }

  async #claimVersion(profileId: string): Promise<string | undefined> {
    const { pool } = this.#deps;
    const profile = pool.deps.machines().profiles.get(profileId);
    return profile && pool.deps.releases.resolveVersion(profile.channel, profile.board, profile.version);
  }

  /** Background refresh: the node holds another release than its pool's, and a slot is free. */
  async #refresh(member: PoolMember, have: string): Promise<PollAnswer | undefined> {
    const { pool } = this.#deps;
    const group = pool.poolGroups().find((g) => g.id === member.group);
    if (!group || pool.refreshMode(group) !== 'background') return undefined;
    const current = await pool.poolVersion(group);
    const holds = member.disk?.version ?? have;
    if (!current || current === holds) return undefined;
    const now = pool.now();
    // A refresh that has not brought its machine back after this long frees its slot.
    const stale = new Date(Date.parse(now) - Math.max(REFRESH_SLOT_MS, 2 * pool.deps.settings.vanishAfter));
    const slots = pool.deps.settings.refreshConcurrency;
    if (!(await pool.store.startRefresh(member.mac, slots, now, stale.toISOString()))) return undefined;
    await pool.deps.store.recordEvent(member.mac, {
      type: 'pool-refresh',
      source: 'http',
      data: { from: holds, to: current },
    });
    return { status: 200, body: { action: 'refresh', version: current } };
  }
}
