// Namespace-LAN suites: railyard (HTTP on 10.77.0.1:8080, TFTP on 10.77.0.1:69) and dnsmasq
// in rye-srv, QEMU nodes on taps in rye-sw. Nodes do real DHCP and TFTP.
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startDnsmasq } from './dnsmasq.ts';
import { createLan, SRV_IP, SRV_NS } from './netns.ts';
import { REPO_ROOT } from './paths.ts';
import type { Firmware, NodeSpec } from './qemu-args.ts';
import { type Railyard, type RailyardOptions, startRailyard } from './railyard.ts';
import { baseSpec } from './slirp.ts';
import type { Lab } from './suite.ts';

/** Why the namespace-LAN scenarios cannot run in this tree (they need railyard's TFTP server). */
export function lanUnavailable(): string | null {
  return existsSync(join(REPO_ROOT, 'server/tftp/start.ts'))
    ? null
    : "railyard's TFTP server (issue 3) is not in this tree";
}

export const IPXE_FILES = ['undionly.kpxe', 'snponly.efi', 'ipxe.efi'];

export interface LanLab {
  ry: Railyard;
  taps: string[];
  dnsmasqLog: string;
}

export async function startLanRailyard(
  lab: Lab,
  machines: RailyardOptions['machines'],
  taps: number,
  extra: Pick<RailyardOptions, 'updates' | 'extraVersions'> = {},
): Promise<LanLab> {
  const names = await createLan(lab.cleanup, taps);
  // copies: Debian's ipxe.efi is a symlink into /boot, which a root-restricted resolver refuses
  const tftpRoot = join(lab.workDir, 'tftp');
  await mkdir(tftpRoot, { recursive: true });
  for (const f of IPXE_FILES) await copyFile(join('/usr/lib/ipxe', f), join(tftpRoot, f));
  const ry = await startRailyard(lab.cleanup, {
    workDir: lab.workDir,
    release: lab.release,
    upstreamUrl: lab.upstream.url,
    listen: `${SRV_IP}:8080`,
    publicUrl: `http://${SRV_IP}:8080`,
    netns: SRV_NS,
    tftp: { listen: `${SRV_IP}:69`, root: tftpRoot },
    machines,
    ...extra,
  });
  const { log } = await startDnsmasq(lab.cleanup, ry);
  return { ry, taps: names, dnsmasqLog: log };
}

export function lanNode(
  lan: LanLab,
  i: number,
  name: string,
  mac: string,
  firmware: Firmware,
  noNicRom = false,
): NodeSpec {
  return {
    ...baseSpec(lan.ry.opts.workDir, name, mac, firmware),
    net: { kind: 'tap', ifname: lan.taps[i]! },
    ...(noNicRom ? { noNicRom } : {}),
  };
}
