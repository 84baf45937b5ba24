// "What does this machine boot?" — the one question HTTP (and TFTP) ask. Decisions over the
// machine set, the mirror and the machine's recorded state. An install decision opens an
// install attempt (attempts.ts has what follows from it: the installer).
import { InvalidRequestError, StorageError } from '../errors.ts';
import { afterDiskBoot, type InstallAttempt } from '../machines/attempt.ts';
import { bootDecision, localBootMode } from '../machines/boot-decision.ts';
import type { Facts, Mac } from '../machines/identity.ts';
import { selectGroup } from '../machines/match.ts';
import type { Group, MachineSet, Profile } from '../machines/model.ts';
import type { Machine } from '../machines/state.ts';
import { claimedGroup } from '../pool/claimed.ts';
import type { IpxeRenderer } from '../render/ipxe.ts';
import type { MachineView } from '../render/views.ts';
import type { PoolMember } from '../store/pool-store.ts';
import type {
  AttemptSecrets,
  NewAttempt,
  NewEvent,
  OpenAttemptStep,
  Sighting,
  StateStore,
} from '../store/state-store.ts';
import { AttemptSource } from './attempts.ts';
import { groupRevision, installView, machineView, normalizeIp } from './views.ts';

/** Resolves a profile's version spec (current, current-YYYY, X.Y.Z) to a mirrored version. */
export interface ReleaseResolver {
  resolveVersion(channel: string, board: string, spec: string): Promise<string | undefined>;
}

/** Fresh credential material for each new attempt (installer/credentials.ts). */
export interface AttemptIssuer {
  issue(): AttemptSecrets;
}

/** `retry`: railyard cannot record the boot right now (state store full or failing). */
export type BootKind = 'install' | 'local-boot' | 'show-failure' | 'no-match' | 'not-mirrored' | 'retry';

export interface BootDecision {
  kind: BootKind;
  script: string;
  mac: Mac;
  group?: Group;
  profile?: Profile;
  version?: string;
  /** The attempt an install decision opened. */
  attempt?: InstallAttempt;
  /** Why the answer is degraded (nothing recorded): the store's error. */
  degraded?: string;
}

/** What deciding leads to: a message (nothing recorded), an event to record, or an install. */
type Plan =
  | { decision: BootDecision; event?: NewEvent; seen?: Sighting; step?: OpenAttemptStep }
  | { install: PendingInstall };

interface PendingInstall {
  mac: Mac;
  facts: Facts & { mac: Mac };
  group: Group;
  profile: Profile;
  version: string;
  view: MachineView;
  /** `pool`: a pool group's machine without a claim (writes its disk, then waits for one); `claimed`: installs its claim. */
  pool?: 'pool' | 'claimed';
}

export interface BootServiceDeps {
  machines: () => MachineSet;
  releases: ReleaseResolver;
  renderer: IpxeRenderer;
  publicUrl: string;
  store: StateStore;
  credentials: AttemptIssuer;
  /** Install attempts after a failure when the profile sets no retryLimit (installer.failedRetries). */
  failedRetries: number;
  /** installer.bindClientIp (default true): installers only to the client that got the script. */
  bindClientIp?: boolean;
  /** Seconds a node waits before asking again when there is nothing to boot yet. */
  retrySeconds?: number;
  /** The machine as this instance last recorded it, when the store cannot be read (store/last-known.ts). */
  lastKnown?: (mac: Mac) => Machine | undefined;
}

export class BootService {
  readonly #deps: BootServiceDeps;
  /** What follows an install decision: the attempt's installer inputs. */
  readonly attempts: AttemptSource;

  constructor(deps: BootServiceDeps) {
    this.#deps = deps;
    this.attempts = new AttemptSource({
      machines: deps.machines,
      store: deps.store,
      publicUrl: deps.publicUrl,
      bindClientIp: deps.bindClientIp ?? true,
    });
  }

  bootScript(): string {
    return this.#deps.renderer.boot(this.#deps.publicUrl);
  }

  /**
   * Decide and record: install (opens an attempt, `install-script-served`), boot from disk
   * (`disk-boot-script-served`) or show a failure (`failure-script-served`). Machines that
   * match no group, or whose release is not mirrored yet, get a message script and no event.
   * The facts replace the machine's stored facts. When the store cannot record, installed
   * machines still get their disk-boot script and others a retry script (nothing recorded).
   */
  async decide(facts: Facts, clientIp?: string): Promise<BootDecision> {
    if (!facts.mac)
      throw new InvalidRequestError('mac is required (the boot script sends mac=${mac:hexhyp})');
    const known = { ...facts, mac: facts.mac };
    try {
      const plan = await this.#plan(known, () => this.#deps.store.getMachine(known.mac));
      return await this.#commit(plan, normalizeIp(clientIp));
    } catch (err) {
      if (err instanceof StorageError) return this.#degraded(known, err);
      throw err;
    }
  }

  /**
   * What `/ipxe` would answer this known machine now (from the facts it last reported),
   * without recording anything: for the dashboard. undefined when the machine was never seen.
   */
  async preview(mac: Mac): Promise<BootDecision | undefined> {
    const machine = await this.#deps.store.getMachine(mac);
    if (!machine) return undefined;
    const plan = await this.#plan({ ...machine.facts, mac }, async () => machine);
    return 'install' in plan ? this.#installDecision(plan.install, 'NEW') : plan.decision;
  }

  /** The retry script for a machine whose boot cannot be decided now (the reason goes on its console). */
  unavailable(mac: Mac, reason: string): BootDecision {
    const safe = reason.replace(/[^A-Za-z0-9 ._:,()/=+-]/g, ' ').slice(0, 160);
    const script = this.#message('railyard cannot decide this boot right now', [
      `railyard cannot record this boot right now: ${safe}`,
      'nothing was changed; see the railyard log',
    ]);
    return { kind: 'retry', script, mac, degraded: reason };
  }

  async #commit(plan: Plan, clientIp: string | null): Promise<BootDecision> {
    if ('install' in plan) return this.#open(plan.install, clientIp);
    const { decision, event, seen, step } = plan;
    if (event) await this.#deps.store.recordEvent(decision.mac, event, seen, step);
    return decision;
  }

  /** Open the attempt (superseding any open one), then render the script that names it. */
  async #open(p: PendingInstall, clientIp: string | null): Promise<BootDecision> {
    this.#installDecision(p, 'NEW'); // render once first: a script that cannot render opens nothing
    const attempt: NewAttempt = {
      group: p.group.id,
      profile: p.profile.id,
      profileRevision: p.profile.revision,
      groupRevision: groupRevision(p.group),
      channel: p.profile.channel,
      board: p.profile.board,
      version: p.version,
      installDisk: p.profile.installDisk,
      phoneHome: p.profile.phoneHome,
      facts: p.facts,
      clientIp,
      secrets: this.#deps.credentials.issue(),
    };
    const { channel, board } = p.profile;
    const pool = p.pool ? { pool: p.pool } : {};
    const opened = await this.#deps.store.openAttempt(
      p.mac,
      attempt,
      {
        type: 'install-script-served',
        source: 'http',
        data: { version: p.version, channel, board, ...pool },
      },
      { facts: p.facts, profile: p.profile.id, group: p.group.id },
    );
    const at = opened.event.at;
    if (p.pool === 'pool') await this.#deps.store.pool.enter(p.mac, p.group.id, opened.attempt.id, at);
    // A claim being installed is under way: releasing it now reprovisions instead of re-pooling.
    if (p.pool === 'claimed') await this.#deps.store.pool.delivered(p.mac, at);
    return { ...this.#installDecision(p, opened.attempt.id), attempt: opened.attempt };
  }

  #installDecision(p: PendingInstall, attemptId: number | 'NEW'): BootDecision {
    const script = this.#deps.renderer.install(
      installView(p.view, p.profile, attemptId),
      p.profile.ipxeTemplateText,
    );
    const { mac, group, profile, version } = p;
    return { kind: 'install', script, mac, group, profile, version };
  }

  async #plan(
    facts: Facts & { mac: Mac },
    machineOf: () => Promise<Machine | undefined>,
    memberOf: () => Promise<PoolMember | undefined> = () => this.#deps.store.pool.get(facts.mac),
  ): Promise<Plan> {
    const mac = facts.mac;
    const set = this.#deps.machines();
    const { group, profile, pool } = await this.#select(set, facts, await memberOf());
    if (!group || !profile) return { decision: this.#noMatch(mac, facts, set.dir) };
    const action = bootDecision(await machineOf(), profile, this.#deps.failedRetries);
    const seen = { facts, profile: profile.id, group: group.id };
    if (action.action === 'disk') {
      const view = machineView(facts, group, profile, profile.version, this.#deps.publicUrl);
      const mode = localBootMode(action.localBoot, facts.platform);
      const script = this.#deps.renderer.localBoot(mode, view);
      return {
        decision: { kind: 'local-boot', script, mac, group, profile },
        event: { type: 'disk-boot-script-served', source: 'http', data: { mode } },
        seen,
        step: afterDiskBoot,
      };
    }
    if (action.action === 'show-failure') {
      const script = this.#failure(mac, action.reason, action.failures);
      return {
        decision: { kind: 'show-failure', script, mac, group, profile },
        event: { type: 'failure-script-served', source: 'http' },
        seen,
      };
    }
    const version = await this.#deps.releases.resolveVersion(profile.channel, profile.board, profile.version);
    if (!version) return { decision: this.#notMirrored(mac, group, profile) };
    const view = machineView(facts, group, profile, version, this.#deps.publicUrl);
    return { install: { mac, facts, group, profile, version, view, ...(pool ? { pool } : {}) } };
  }

  /**
   * The group and profile a machine boots: a claimed pool machine its claim's (the pool group
   * with the claim's metadata, the claim's profile), whatever its facts match; otherwise the
   * group its facts match, which may be a pool group.
   */
  async #select(
    set: MachineSet,
    facts: Facts & { mac: Mac },
    member: PoolMember | undefined,
  ): Promise<{ group?: Group | undefined; profile?: Profile | undefined; pool?: 'pool' | 'claimed' }> {
    const claim = member?.claim;
    const poolGroup = member && set.groups.find((g) => g.id === member.group);
    const claimed = claim ? set.profiles.get(claim.profile) : undefined;
    if (claim && poolGroup && claimed)
      return { group: claimedGroup(poolGroup, claim), profile: claimed, pool: 'claimed' };
    const group = selectGroup(set.groups, facts);
    const profile = group ? set.profiles.get(group.profile) : undefined;
    return group?.pool ? { group, profile, pool: 'pool' } : { group, profile };
  }

  /**
   * The store failed: an installed (or provisioned) machine, if it can still be read (or
   * this instance recorded it recently), gets its disk-boot script, unrecorded; everyone
   * else a script that retries.
   */
  async #degraded(facts: Facts & { mac: Mac }, err: StorageError): Promise<BootDecision> {
    const machine = await this.#deps.store
      .getMachine(facts.mac)
      .catch(() => this.#deps.lastKnown?.(facts.mac));
    if (machine?.state === 'installed' || machine?.state === 'provisioned') {
      // The store is failing: the pool's record too (an installed machine boots its disk either way).
      const plan = await this.#plan(
        facts,
        async () => machine,
        async () => undefined,
      ).catch(() => undefined);
      if (plan && 'decision' in plan && plan.decision.kind === 'local-boot')
        return { ...plan.decision, degraded: err.message };
    }
    return this.unavailable(facts.mac, err.message);
  }

  #failure(mac: Mac, reason: string, failures: number): string {
    const firstLine = reason.split('\n').find((l) => l.trim() !== '') ?? 'install failed';
    const safe = firstLine.replace(/[^A-Za-z0-9 ._:,()/=+-]/g, ' ').slice(0, 160);
    return this.#message(`install failed on ${mac}`, [
      `the install on ${mac} failed ${failures} time(s): ${safe}`,
      `see railyard machines show ${mac}; railyard machines reprovision ${mac} installs again`,
    ]);
  }

  #message(title: string, lines: string[]): string {
    return this.#deps.renderer.message({
      title,
      lines,
      retrySeconds: this.#deps.retrySeconds ?? 60,
      publicUrl: this.#deps.publicUrl,
    });
  }

  #noMatch(mac: Mac, facts: Facts, dir: string): BootDecision {
    const described = Object.entries(facts)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const script = this.#message('no group matches this machine', [
      `no group matches this machine (${described})`,
      `add a group for it, or a default group without selectors, under ${dir}/groups`,
    ]);
    return { kind: 'no-match', script, mac };
  }

  #notMirrored(mac: Mac, group: Group, profile: Profile): BootDecision {
    const release = `${profile.channel}/${profile.board} ${profile.version}`;
    const script = this.#message(`release ${release} not mirrored yet`, [
      `release ${release} not mirrored yet (profile ${profile.id})`,
      'run railyard mirror refresh, or wait for the automatic refresh',
    ]);
    return { kind: 'not-mirrored', script, mac, group, profile };
  }
}
