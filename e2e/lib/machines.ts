// Profiles and groups the E2E suites write into railyard's machines dir.
export const CONSOLE = 'console=ttyS0,115200n8';

/**
 * `kexecChecks: false` (`kexec -i`): purgatory's SHA-256 of the loaded kernel costs seconds
 * under TCG and milliseconds on hardware (docs/handoff.md); scenario 4's UEFI node keeps the
 * default.
 */
export function labProfile(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    description: 'E2E: stand-in Flatcar to the virtio disk',
    channel: 'stable',
    version: 'current',
    installDisk: '/dev/vda',
    kernelArgs: [CONSOLE],
    kexecChecks: false,
    ignition: {
      ignition: { version: '3.3.0' },
      storage: { files: [{ path: '/etc/hostname', mode: 420, contents: { source: 'data:,{{hostname}}' } }] },
    },
    localBoot: 'auto',
    ...extra,
  };
}

export function macGroup(
  profile: string,
  mac: string,
  metadata: Record<string, unknown> = {},
): Record<string, unknown> {
  return { profile, selector: { mac }, metadata };
}

/** Locally administered, distinct per node: 52:54:00:e2:<suite>:<n>. */
export function labMac(suite: number, n: number): string {
  const h = (x: number) => x.toString(16).padStart(2, '0');
  return `52:54:00:e2:${h(suite)}:${h(n)}`;
}
