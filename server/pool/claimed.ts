// What a claim makes of a pooled machine (pure): its group as matching sees it from now on
// (the pool group, with the claim's metadata over the group's), and the payload its waiting
// node receives: the installed system's Ignition rendered for the claim profile, and the
// kernel arguments that go into the OEM grub.cfg instead of Ignition's kernelArguments
// (which would cost Flatcar's first boot an extra reboot: FLATCAR.md).
import type { Group } from '../machines/model.ts';
import type { PoolClaim } from '../store/pool-store.ts';

export function claimedGroup(group: Group, claim: Pick<PoolClaim, 'metadata'>): Group {
  return { ...group, metadata: { ...group.metadata, ...claim.metadata } };
}

export interface ClaimPayload {
  action: 'claim';
  profile: string;
  version: string;
  /** The installed system's Ignition config, the exact text of OEM config.ign (kernelArguments removed). */
  config: string;
  /** Ignition kernelArguments.shouldExist, for OEM grub.cfg `linux_append`. */
  kernelArgs: string[];
}
