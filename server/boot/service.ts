// "What does this machine boot?" — the one question HTTP (and TFTP) ask. Pure decisions
// over the machine set, the mirror and (later) the machine's recorded state.
import { InvalidRequestError } from '../errors.ts';
import { bootDecision } from '../machines/boot-decision.ts';
import type { Facts } from '../machines/identity.ts';
import type { MachineSet } from '../machines/load.ts';
import { selectGroup } from '../machines/match.ts';
import type { Group, Profile } from '../machines/model.ts';
import type { IpxeRenderer } from '../render/ipxe.ts';
import type { MachineView } from '../render/views.ts';
import type { NewEvent, Sighting, StateStore } from '../store/state-store.ts';
import { installView, machineView } from './views.ts';

/** Resolves a profile's version spec (current, current-YYYY, X.Y.Z) to a mirrored version. */
export interface ReleaseResolver {
  resolveVersion(channel: string, board: string, spec: string): Promise<string | undefined>;
}

export type BootKind = 'install' | 'local-boot' | 'show-failure' | 'no-match' | 'not-mirrored';

export interface BootDecision {
  kind: BootKind;
  script: string;
  mac: string;
  group?: Group;
  profile?: Profile;
  version?: string;
}

/** A decision and the event that serving it records (none for messages). */
interface Plan {
  decision: BootDecision;
  event?: NewEvent;
  seen?: Sighting;
}

export interface BootServiceDeps {
  machines: () => MachineSet;
  releases: ReleaseResolver;
  renderer: IpxeRenderer;
  publicUrl: string;
  store: StateStore;
  /** Install attempts after a failure when the profile sets no retryLimit (installer.failedRetries). */
  failedRetries: number;
  /** Seconds a node waits before asking again when there is nothing to boot yet. */
  retrySeconds?: number;
}

export class BootService {
  readonly #deps: BootServiceDeps;

  constructor(deps: BootServiceDeps) {
    this.#deps = deps;
  }

  bootScript(): string {
    return this.#deps.renderer.boot(this.#deps.publicUrl);
  }

  /**
   * Decide and record: install (`install-script-served`), boot from disk
   * (`disk-boot-script-served`) or show a failure (`failure-script-served`). Machines that
   * match no group, or whose release is not mirrored yet, get a message script and no event.
   */
  async decide(facts: Facts): Promise<BootDecision> {
    if (!facts.mac)
      throw new InvalidRequestError('mac is required (the boot script sends mac=${mac:hexhyp})');
    const { decision, event, seen } = await this.#plan({ ...facts, mac: facts.mac });
    if (event) await this.#deps.store.recordEvent(decision.mac, event, seen);
    return decision;
  }

  /**
   * What `/ipxe` would answer this known machine now (from the facts it last reported),
   * without recording anything: for the dashboard. undefined when the machine was never seen.
   */
  async preview(mac: string): Promise<BootDecision | undefined> {
    const machine = await this.#deps.store.getMachine(mac);
    if (!machine) return undefined;
    return (await this.#plan({ ...machine.facts, mac })).decision;
  }

  async #plan(facts: Facts & { mac: string }): Promise<Plan> {
    const mac = facts.mac;
    const set = this.#deps.machines();
    const group = selectGroup(set.groups, facts);
    const profile = group ? set.profiles.get(group.profile) : undefined;
    if (!group || !profile) return { decision: this.#noMatch(mac, facts, set.dir) };
    const machine = await this.#deps.store.getMachine(mac);
    const action = bootDecision(machine, profile, this.#deps.failedRetries);
    const seen = { facts, profile: profile.id, group: group.id };
    if (action.action === 'disk') {
      const view = machineView(facts, group, profile, profile.version, this.#deps.publicUrl);
      const mode =
        action.localBoot === 'auto' ? (facts.platform === 'efi' ? 'exit' : 'sanboot') : action.localBoot;
      const script = this.#deps.renderer.localBoot(mode, view);
      return {
        decision: { kind: 'local-boot', script, mac, group, profile },
        event: { type: 'disk-boot-script-served', source: 'http', data: { mode } },
        seen,
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
    const script = this.#deps.renderer.install(installView(view, profile), profile.ipxeTemplateText);
    return {
      decision: { kind: 'install', script, mac, group, profile, version },
      event: {
        type: 'install-script-served',
        source: 'http',
        data: { version, channel: profile.channel, board: profile.board },
      },
      seen,
    };
  }

  /**
   * The inputs of a machine's installer: the group and profile it matches now (from the
   * facts it last reported) and the release its install script named.
   */
  async installerInputs(
    mac: string,
  ): Promise<{ view: MachineView; profile: Profile; facts: Facts } | undefined> {
    const machine = await this.#deps.store.getMachine(mac);
    if (!machine) return undefined;
    const set = this.#deps.machines();
    const facts = { ...machine.facts, mac };
    const group = selectGroup(set.groups, facts);
    const profile = group ? set.profiles.get(group.profile) : undefined;
    if (!group || !profile) return undefined;
    const served = (await this.#deps.store.events(mac, { limit: 50 })).findLast(
      (e) => e.type === 'install-script-served',
    );
    const version =
      typeof served?.data['version'] === 'string'
        ? served.data['version']
        : await this.#deps.releases.resolveVersion(profile.channel, profile.board, profile.version);
    if (!version) return undefined;
    return { view: machineView(facts, group, profile, version, this.#deps.publicUrl), profile, facts };
  }

  #failure(mac: string, reason: string, failures: number): string {
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

  #noMatch(mac: string, facts: Facts, dir: string): BootDecision {
    const described = Object.entries(facts)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const script = this.#message('no group matches this machine', [
      `no group matches this machine (${described})`,
      `add a group for it, or a default group without selectors, under ${dir}/groups`,
    ]);
    return { kind: 'no-match', script, mac };
  }

  #notMirrored(mac: string, group: Group, profile: Profile): BootDecision {
    const release = `${profile.channel}/${profile.board} ${profile.version}`;
    const script = this.#message(`release ${release} not mirrored yet`, [
      `release ${release} not mirrored yet (profile ${profile.id})`,
      'run railyard mirror refresh, or wait for the automatic refresh',
    ]);
    return { kind: 'not-mirrored', script, mac, group, profile };
  }
}
