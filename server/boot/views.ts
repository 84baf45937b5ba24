// Build the per-machine view templates are rendered with.
import type { Facts } from '../machines/identity.ts';
import type { Group, Profile } from '../machines/model.ts';
import type { InstallView } from '../render/ipxe.ts';
import type { MachineView } from '../render/views.ts';

const KNOWN = new Set(['mac', 'uuid', 'hostname', 'serial', 'arch', 'platform']);

export function machineView(
  facts: Facts & { mac: string },
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

/** Asset URLs carry ?mac= so downloads land on the machine's timeline. */
export function installView(view: MachineView, profile: Profile): InstallView {
  const release = `${view.mirrorBase}/${view.version}`;
  const q = `?mac=${view.macHyphen}`;
  return {
    ...view,
    kernelUrl: `${release}/flatcar_production_pxe.vmlinuz${q}`,
    initrdUrl: `${release}/flatcar_production_pxe_image.cpio.gz${q}`,
    installerUrl: `${view.publicUrl}/installer/${view.macHyphen}.cpio.gz`,
    kernelArgs: profile.kernelArgs,
  };
}
