// What `/ipxe` should answer for a machine, from its recorded state (pure).
import type { Profile } from './model.ts';
import type { Machine } from './state.ts';

export type BootDecision =
  | { action: 'install' }
  | { action: 'disk'; localBoot: Profile['localBoot'] }
  | { action: 'show-failure'; reason: string; failures: number };

/**
 * - unknown, new, installing, reprovision-requested: the install script;
 * - installed, provisioned: boot from disk (event `disk-boot-script-served`);
 * - failed: retry the install while `failures <= retryLimit` (profile, else `defaultRetries`
 *   = config `installer.failedRetries`) and `onFailure` is `retry`; otherwise a script that
 *   shows the failure reason (event `failure-script-served`).
 */
export function bootDecision(
  machine: Machine | undefined,
  profile: Pick<Profile, 'onFailure' | 'retryLimit' | 'localBoot'>,
  defaultRetries: number,
): BootDecision {
  switch (machine?.state ?? 'new') {
    case 'installed':
    case 'provisioned':
      return { action: 'disk', localBoot: profile.localBoot };
    case 'failed': {
      const failures = machine?.failures ?? 0;
      const limit = profile.retryLimit ?? defaultRetries;
      if (profile.onFailure === 'retry' && failures <= limit) return { action: 'install' };
      return { action: 'show-failure', reason: machine?.failureReason ?? 'install failed', failures };
    }
    default:
      return { action: 'install' };
  }
}

/**
 * How a machine boots its disk (the BIOS/UEFI local-boot rule): the profile's `localBoot`,
 * or for `auto` iPXE's `exit` under UEFI (the firmware goes on to the boot entry the
 * installer placed after the network one) and `sanboot` under BIOS.
 */
export function localBootMode(
  localBoot: Profile['localBoot'],
  platform: string | undefined,
): Exclude<Profile['localBoot'], 'auto'> {
  if (localBoot !== 'auto') return localBoot;
  return platform === 'efi' ? 'exit' : 'sanboot';
}
