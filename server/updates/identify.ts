// Who is asking, and under which policy. A machine-id bound by a first-boot report is the
// machine railyard installed: its group and profile are matched from the facts it last
// reported, exactly as /ipxe matches it. Any other machine-id is "unknown": it is matched
// with its Omaha facts (`track`, `board`, `oem`), so a group with `selector: {track: beta}`
// or the default group decides for it (its track policy).
import type { Facts, Mac } from '../machines/identity.ts';
import { selectGroup } from '../machines/match.ts';
import type { MachineSet } from '../machines/model.ts';
import type { StateStore } from '../store/state-store.ts';
import type { UpdateStore } from './client.ts';
import type { OmahaApp } from './omaha-request.ts';
import { effectivePolicy, type UpdatePolicy } from './policy.ts';

export interface Identified {
  machineId: string;
  /** null: unknown machine-id. */
  mac: Mac | null;
  policy: UpdatePolicy | undefined;
}

export async function identify(
  app: OmahaApp & { machineId: string },
  deps: { machines: MachineSet; store: StateStore; updates: UpdateStore },
): Promise<Identified> {
  const mac = (await deps.updates.macFor(app.machineId)) ?? null;
  const machine = mac ? await deps.store.getMachine(mac) : undefined;
  const facts: Facts = machine ? { ...machine.facts, mac: machine.mac } : omahaFacts(app);
  const group = selectGroup(deps.machines.groups, facts);
  const profile = group ? deps.machines.profiles.get(group.profile) : undefined;
  const policy = group && profile ? effectivePolicy(profile, group) : undefined;
  return { machineId: app.machineId, mac: machine ? machine.mac : null, policy };
}

/** Facts of a machine railyard did not install: only what its Omaha request says. */
export function omahaFacts(app: OmahaApp): Facts {
  const facts: Facts = {};
  if (app.track) facts['track'] = app.track;
  if (app.board) facts['board'] = app.board;
  if (app.oem) facts['oem'] = app.oem;
  return facts;
}
