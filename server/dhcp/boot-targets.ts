// Which iPXE binary each PXE firmware gets by TFTP, keyed by DHCP client-arch (option 93).
// One table shared by every flavour so they cannot disagree. iPXE clients (user-class
// "iPXE", option 175) are matched before this table and get the HTTP boot script instead.
import type { DhcpParams } from './params.ts';

export interface BootTarget {
  /** Short tag / class suffix: bios, efi64, arm64. */
  tag: string;
  label: string;
  /** Option 93 client-arch values that select this target. */
  arches: number[];
  /** dnsmasq pxe-service client system types (CSA) for the same arches. */
  pxeCsa: string[];
  /** Path under railyard's TFTP root. */
  file: string;
}

/**
 * Targets for these params. Left out on purpose: arch 6 (32-bit UEFI, which cannot run an
 * x86-64 binary) and arch 16 (UEFI HTTP boot, which needs the EFI binary over HTTP, not TFTP).
 */
export function bootTargets(params: DhcpParams): BootTarget[] {
  const targets: BootTarget[] = [
    { tag: 'bios', label: 'BIOS', arches: [0], pxeCsa: ['x86PC'], file: 'undionly.kpxe' },
    {
      tag: 'efi64',
      label: 'UEFI x86-64',
      arches: [7, 9],
      pxeCsa: ['x86-64_EFI', 'BC_EFI'],
      file: params.efiBinary,
    },
  ];
  if (params.arm64Binary !== null) {
    targets.push({
      tag: 'arm64',
      label: 'UEFI arm64',
      arches: [11],
      pxeCsa: ['ARM64_EFI'],
      file: params.arm64Binary,
    });
  }
  return targets;
}

/** Option 93 as the two bytes clients send, in hex: 7 → "0007". */
export function archHex(arch: number): string {
  return arch.toString(16).padStart(4, '0');
}
