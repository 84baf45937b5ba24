// The installer's hand-off to the installed system (assets/templates/handoff.sh.mustache):
// kexec into it, or a plain reboot through the firmware, with a reason for the reboot. The
// reason is `<code>` or `<code>: <detail>`; the code is one of a fixed set (a metric label),
// the detail is free text for people.
import type { MachineEvent } from './state.ts';

export const HANDOFF_METHODS = ['kexec', 'reboot'] as const;
export type HandoffMethod = (typeof HANDOFF_METHODS)[number];

/** Why the installer rebooted instead of kexec'ing (docs/handoff.md lists what each means). */
export const HANDOFF_REASONS = [
  'profile', // the profile says handoff: reboot
  'denied', // installer.kexecDeny matched the machine's facts or its SMBIOS strings
  'no-kexec', // no kexec binary in the live system
  'lockdown', // kernel lockdown (integrity/confidentiality) forbids kexec_load
  'secure-boot', // UEFI Secure Boot is on (Flatcar locks down; no signed kexec)
  'kexec-load-disabled', // /proc/sys/kernel/kexec_load_disabled is 1
  'disk', // the installed disk or one of its partitions (EFI-SYSTEM, USR-A, OEM) was not found
  'kernel', // /flatcar/vmlinuz-a missing, or no 64-hex verity hash at byte 64
  'oem-grub-cfg', // the OEM grub.cfg has lines other than the simple `set` forms
  'gpt-slot', // GRUB's gptprio would not boot USR-A as it stands
  'kexec-load-failed', // kexec -l itself failed
] as const;
export type HandoffReason = (typeof HANDOFF_REASONS)[number];

const REASON_TEXT = /^([a-z][a-z0-9-]*)(: [\x20-\x7e]{1,400})?$/;

/** The reason's code when `reason` is `<known code>[: <printable detail>]`; undefined otherwise. */
export function reasonCode(reason: string): HandoffReason | undefined {
  const code = REASON_TEXT.exec(reason)?.[1];
  return (HANDOFF_REASONS as readonly string[]).includes(code ?? '') ? (code as HandoffReason) : undefined;
}

export interface Handoff {
  method: HandoffMethod;
  reason: string | null;
  at: string;
}

/** The hand-off of the latest install attempt (events after the last install script), if reported. */
export function latestHandoff(events: readonly MachineEvent[]): Handoff | undefined {
  let result: Handoff | undefined;
  for (const e of [...events].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))) {
    if (e.type === 'install-script-served' || e.type === 'reprovision-requested') result = undefined;
    if (e.type !== 'handoff') continue;
    const method = e.data['method'];
    if (method !== 'kexec' && method !== 'reboot') continue;
    const reason = typeof e.data['reason'] === 'string' ? e.data['reason'] : null;
    result = { method, reason, at: e.at };
  }
  return result;
}
