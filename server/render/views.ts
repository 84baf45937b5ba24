// The views templates are rendered with. Profile templates are checked at load time
// against `sampleView` (same keys, placeholder values), so a template that names a
// variable no machine will have fails at load, not at boot.
import { canonicalMac, type Mac } from '../machines/identity.ts';

export interface MachineView {
  [key: string]: unknown;
  mac: Mac;
  /** MAC with hyphens (file-name friendly). */
  macHyphen: string;
  hostname: string;
  uuid: string;
  serial: string;
  arch: string;
  platform: string;
  labels: Record<string, string>;
  group: string;
  profile: string;
  channel: string;
  board: string;
  version: string;
  installDisk: string;
  publicUrl: string;
  /** Board-level mirror base URL, as `flatcar-install -b` wants it. */
  mirrorBase: string;
  metadata: Record<string, unknown>;
}

export function sampleView(metadata: Record<string, unknown>): MachineView {
  return {
    mac: canonicalMac('00:00:00:00:00:00'),
    macHyphen: '00-00-00-00-00-00',
    hostname: 'x',
    uuid: 'x',
    serial: 'x',
    arch: 'x',
    platform: 'x',
    labels: {},
    group: 'x',
    profile: 'x',
    channel: 'x',
    board: 'x',
    version: 'x',
    installDisk: 'x',
    publicUrl: 'http://x',
    mirrorBase: 'http://x',
    metadata: Object.fromEntries(Object.keys(metadata).map((k) => [k, metadata[k] ?? 'x'])),
    // iPXE-only keys (documented in the README): present so custom iPXE templates check.
    kernelArgs: 'x',
    kernelUrl: 'http://x',
    initrdUrl: 'http://x',
    installerUrl: 'http://x',
  };
}
