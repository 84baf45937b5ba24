// Build the per-machine view templates are rendered with.
import { createHash } from 'node:crypto';
import type { Facts, Mac } from '../machines/identity.ts';
import type { Group, Profile } from '../machines/model.ts';
import type { InstallView } from '../render/ipxe.ts';
import type { MachineView } from '../render/views.ts';

const KNOWN = new Set(['mac', 'uuid', 'hostname', 'serial', 'arch', 'platform']);

export function machineView(
  facts: Facts & { mac: Mac },
  group: Group,
  profile: Profile,
  version: string,
  publicUrl: string,
): MachineView {
  const macHyphen = facts.mac.replace(/:/g, '-');
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(facts)) if (!KNOWN.has(k) && v !== undefined) labels[k] = v;
  const metaHost = group.metadata['hostname'];
  return {
    mac: facts.mac,
    macHyphen,
    hostname:
      facts.hostname ?? (typeof metaHost === 'string' ? metaHost : `flatcar-${facts.mac.replace(/:/g, '')}`),
    uuid: facts.uuid ?? '',
    serial: facts.serial ?? '',
    arch: facts.arch ?? '',
    platform: facts.platform ?? '',
    labels,
    group: group.id,
    profile: profile.id,
    channel: profile.channel,
    board: profile.board,
    version,
    installDisk: profile.installDisk,
    publicUrl,
    mirrorBase: `${publicUrl}/mirror/${profile.channel}/${profile.board}`,
    metadata: group.metadata,
  };
}

/**
 * Asset URLs carry ?mac= so downloads land on the machine's timeline; the installer URL
 * names the attempt (`NEW` in a preview, where none is opened).
 */
export function installView(view: MachineView, profile: Profile, attemptId: number | 'NEW'): InstallView {
  const release = `${view.mirrorBase}/${view.version}`;
  const q = `?mac=${view.macHyphen}`;
  return {
    ...view,
    kernelUrl: `${release}/flatcar_production_pxe.vmlinuz${q}`,
    initrdUrl: `${release}/flatcar_production_pxe_image.cpio.gz${q}`,
    installerUrl: `${view.publicUrl}/installer/${view.macHyphen}.cpio.gz?attempt=${attemptId}`,
    kernelArgs: profile.kernelArgs,
  };
}

/** Content hash of a group as loaded (selectors, profile, metadata): pinned by attempts. */
export function groupRevision(group: Group): string {
  return createHash('sha256').update(JSON.stringify(group)).digest('hex').slice(0, 16);
}

/** `::ffff:10.0.0.5` and `10.0.0.5` are one client. */
export function normalizeIp(ip: string | undefined): string | null {
  if (!ip) return null;
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
