// How the installer hands off to the installed system, decided per machine: the profile's
// `handoff` (kexec | reboot) and `kexecChecks`, and the site's `installer.kexecDeny` list of
// hardware known to hang after kexec. An entry's fact keys are matched here, against the
// machine's facts; its `manufacturer` / `product` (SMBIOS type 1 strings, which iPXE facts
// cannot carry) are passed to handoff.sh, which compares them with /sys/class/dmi/id.
import type { Facts } from '../machines/identity.ts';
import { canonicalSelector } from '../machines/match.ts';
import type { Profile } from '../machines/model.ts';

/** One installer.kexecDeny entry: all of its keys must match. */
export type KexecDenyEntry = Readonly<Record<string, string>>;

export const DMI_KEYS = ['manufacturer', 'product'] as const;

export interface HandoffPlan {
  method: 'kexec' | 'reboot';
  /** Why reboot was decided here (`profile`, `denied: …`); undefined for kexec. */
  reason: string | undefined;
  /** false: `kexec -i`, no purgatory SHA-256 check of the loaded segments. */
  kexecChecks: boolean;
  /** kexecDeny entries whose fact keys matched and that name SMBIOS strings ('' = any). */
  dmiDeny: Array<{ index: number; manufacturer: string; product: string }>;
}

export function planHandoff(
  profile: Pick<Profile, 'handoff' | 'kexecChecks'>,
  facts: Facts,
  deny: readonly KexecDenyEntry[],
): HandoffPlan {
  const plan: HandoffPlan = {
    method: profile.handoff,
    reason: profile.handoff === 'reboot' ? 'profile' : undefined,
    kexecChecks: profile.kexecChecks,
    dmiDeny: [],
  };
  if (plan.method === 'reboot') return plan;
  for (const [index, entry] of deny.entries()) {
    const selector = canonicalSelector(
      Object.fromEntries(Object.entries(entry).filter(([k]) => !isDmiKey(k))),
    );
    if (!Object.entries(selector).every(([k, v]) => facts[k] === v)) continue;
    const manufacturer = entry['manufacturer'] ?? '';
    const product = entry['product'] ?? '';
    if (manufacturer === '' && product === '') {
      const matched = Object.entries(selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      return {
        ...plan,
        method: 'reboot',
        reason: `denied: installer.kexecDeny[${index}] matches ${matched}`,
      };
    }
    plan.dmiDeny.push({ index, manufacturer, product });
  }
  return plan;
}

function isDmiKey(key: string): boolean {
  return (DMI_KEYS as readonly string[]).includes(key);
}
