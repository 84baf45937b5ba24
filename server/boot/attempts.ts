// The inputs of an attempt's installer, taken from the attempt alone: the group and profile
// it pinned (by id and revision), the facts of the request that opened it, its release
// and install disk. Never matched again: a changed profile or group is a conflict, not a
// silent change of what the machine installs.
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import type { InstallAttempt } from '../machines/attempt.ts';
import type { Mac } from '../machines/identity.ts';
import type { MachineSet, Profile } from '../machines/model.ts';
import { claimedGroup } from '../pool/claimed.ts';
import type { MachineView } from '../render/views.ts';
import type { StateStore, StoredAttempt } from '../store/state-store.ts';
import { groupRevision, machineView, normalizeIp } from './views.ts';

export interface AttemptInputs {
  attempt: StoredAttempt;
  view: MachineView;
  /** The pinned profile, with the attempt's install disk and phone-home setting. */
  profile: Profile;
  /** A pool attempt (the machine's pool membership names it): its installer runs pool.sh. */
  pool: boolean;
}

export interface InstallerRequest {
  /** `?attempt=N`; without it, the machine's open attempt (only with bindClientIp). */
  attemptId?: number | undefined;
  clientIp?: string | undefined;
}

export interface AttemptSourceDeps {
  machines: () => MachineSet;
  store: StateStore;
  publicUrl: string;
  /** installer.bindClientIp: serve an installer only to the client that received its script. */
  bindClientIp: boolean;
}

/** Attempt states whose installer is still served: after `installed` it has done its job. */
const SERVED_WHILE: readonly InstallAttempt['state'][] = ['served', 'installing'];

export class AttemptSource {
  readonly #deps: AttemptSourceDeps;

  constructor(deps: AttemptSourceDeps) {
    this.#deps = deps;
  }

  /**
   * The installer inputs of `mac`'s open attempt for this request. NotFoundError: no such
   * open attempt, or it is past installing; ForbiddenError: another client IP (bindClientIp);
   * ConflictError: its profile or group changed since it opened.
   */
  async installer(mac: Mac, request: InstallerRequest): Promise<AttemptInputs> {
    const attempt = await this.#find(mac, request.attemptId);
    if (!SERVED_WHILE.includes(attempt.state))
      throw new NotFoundError(
        `no installer for ${mac}: attempt ${attempt.id} is ${attempt.state} (installers are served only while an attempt is open and not yet installed)`,
      );
    const ip = normalizeIp(request.clientIp);
    if (this.#deps.bindClientIp && attempt.clientIp !== ip)
      throw new ForbiddenError(
        `the installer of attempt ${attempt.id} (${mac}) is served only to ${attempt.clientIp ?? 'the client that received its install script'}, not ${ip ?? 'this client'} (installer.bindClientIp)`,
      );
    return this.inputs(attempt);
  }

  /** An attempt of `mac` by id, open or closed (admin: what it installed). */
  async attempt(mac: Mac, id: number): Promise<StoredAttempt> {
    const attempt = await this.#deps.store.getAttempt(id);
    if (!attempt || attempt.mac !== mac) throw new NotFoundError(`${mac} has no install attempt ${id}`);
    return attempt;
  }

  /**
   * The view and pinned profile of `attempt`; ConflictError when they changed since. A
   * claimed pool machine's group carries its claim's metadata (pool/claimed.ts).
   */
  async inputs(attempt: StoredAttempt): Promise<AttemptInputs> {
    const set = this.#deps.machines();
    const member = await this.#deps.store.pool.get(attempt.mac);
    const claim = member?.claim;
    const found = set.groups.find((g) => g.id === attempt.group);
    const group = found && claim?.profile === attempt.profile ? claimedGroup(found, claim) : found;
    const profile = set.profiles.get(attempt.profile);
    const again = `the machine asks /ipxe again and gets a new attempt`;
    if (!group || !profile)
      throw new ConflictError(
        `attempt ${attempt.id}: group ${attempt.group} or profile ${attempt.profile} no longer exists; ${again}`,
      );
    if (profile.revision !== attempt.profileRevision || groupRevision(group) !== attempt.groupRevision)
      throw new ConflictError(
        `attempt ${attempt.id}: profile ${profile.id} or group ${group.id} changed since its install script was served; ${again}`,
      );
    const view = machineView(
      { ...attempt.facts, mac: attempt.mac },
      group,
      profile,
      attempt.version,
      this.#deps.publicUrl,
    );
    const pinned = { ...profile, installDisk: attempt.installDisk, phoneHome: attempt.phoneHome };
    const pool = member?.attemptId === attempt.id && member.state !== 'claimed';
    return { attempt, view: { ...view, installDisk: attempt.installDisk }, profile: pinned, pool };
  }

  async #find(mac: Mac, attemptId: number | undefined): Promise<StoredAttempt> {
    if (attemptId === undefined) {
      if (!this.#deps.bindClientIp)
        throw new NotFoundError(
          `no installer for ${mac}: name the attempt (?attempt=N) when installer.bindClientIp is off`,
        );
      const open = await this.#deps.store.openAttemptOf(mac);
      if (!open) throw new NotFoundError(`no installer for ${mac}: it has no open install attempt`);
      return open;
    }
    const attempt = await this.#deps.store.getAttempt(attemptId);
    if (!attempt || attempt.mac !== mac)
      throw new NotFoundError(`no installer for ${mac}: it has no install attempt ${attemptId}`);
    return attempt;
  }
}
