// "What does this machine boot?" — the one question HTTP (and TFTP) ask. Pure decisions
// over the machine set, the mirror and (later) the machine's recorded state.
import { InvalidRequestError } from '../errors.ts';
import type { Facts } from '../machines/identity.ts';
import type { MachineSet } from '../machines/load.ts';
import { selectGroup } from '../machines/match.ts';
import type { Group, Profile } from '../machines/model.ts';
import type { IpxeRenderer } from '../render/ipxe.ts';
import { installView, machineView } from './views.ts';

/** Resolves a profile's version spec (current, current-YYYY, X.Y.Z) to a mirrored version. */
export interface ReleaseResolver {
  resolveVersion(channel: string, board: string, spec: string): Promise<string | undefined>;
}

export type BootKind = 'install' | 'local-boot' | 'no-match' | 'not-mirrored';

export interface BootDecision {
  kind: BootKind;
  script: string;
  mac: string;
  group?: Group;
  profile?: Profile;
  version?: string;
}

export interface BootServiceDeps {
  machines: () => MachineSet;
  releases: ReleaseResolver;
  renderer: IpxeRenderer;
  publicUrl: string;
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

  async decide(facts: Facts): Promise<BootDecision> {
    if (!facts.mac)
      throw new InvalidRequestError('mac is required (the boot script sends mac=${mac:hexhyp})');
    const mac = facts.mac;
    const set = this.#deps.machines();
    const group = selectGroup(set.groups, facts);
    const profile = group ? set.profiles.get(group.profile) : undefined;
    if (!group || !profile) return this.#noMatch(mac, facts, set.dir);
    const version = await this.#deps.releases.resolveVersion(profile.channel, profile.board, profile.version);
    if (!version) return this.#notMirrored(mac, group, profile);
    const view = machineView({ ...facts, mac }, group, profile, version, this.#deps.publicUrl);
    const script = this.#deps.renderer.install(installView(view, profile), profile.ipxeTemplateText);
    return { kind: 'install', script, mac, group, profile, version };
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
