// QEMU command lines for lab nodes (see ../shared/LAB.md): TCG by default, serial console on
// stdio with firmware text (graphics=off), virtio NIC and disk, SeaBIOS or OVMF.
export type Firmware = 'bios' | 'uefi';

export type NodeNet =
  /** slirp, restrict=on: the guest reaches only `guestAddr`, forwarded to 127.0.0.1:hostPort. */
  | { kind: 'user'; bootfile: string; guestAddr: string; guestPort: number; hostPort: number }
  /** a tap device (already created, in the namespace QEMU runs in). */
  | { kind: 'tap'; ifname: string };

export interface NodeSpec {
  name: string;
  mac: string;
  firmware: Firmware;
  net: NodeNet;
  /** qcow2 target disk. */
  disk: string;
  /** writable copy of OVMF_VARS.fd (uefi only). */
  varsFile?: string;
  /** true: no NIC option ROM (`romfile=`), so OVMF's own PXE client boots (uefi). */
  noNicRom?: boolean;
  memoryMb?: number;
  accel?: string;
  /** SMBIOS type 1 strings (what /sys/class/dmi/id shows the guest), e.g. for installer.kexecDeny. */
  smbios?: { manufacturer: string; product: string };
  /**
   * uefi: `bootindex` on the NIC (1) and the disk (2), so OVMF rebuilds BootOrder from QEMU's
   * list on every boot and ignores the installer's entry (the lab before issue 13, or a BMC's
   * boot override): bench/handoff.ts uses it as the reference for the disk-boot phase.
   */
  bootindex?: boolean;
}

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS.fd';

export function qemuArgs(n: NodeSpec): string[] {
  const args = ['-accel', n.accel ?? 'tcg', '-m', String(n.memoryMb ?? 1024), '-smp', '1'];
  args.push('-no-user-config', '-nodefaults', '-display', 'none', '-machine', 'pc,graphics=off');
  args.push('-chardev', 'stdio,id=s0,signal=off', '-serial', 'chardev:s0');
  args.push(...firmwareArgs(n), ...netArgs(n));
  args.push('-drive', `file=${n.disk},if=none,id=d0,format=qcow2`);
  args.push('-device', `virtio-blk-pci,drive=d0${n.bootindex ? ',bootindex=2' : ''}`);
  if (n.smbios) {
    const { manufacturer, product } = n.smbios;
    if (/[,\n]/.test(manufacturer + product)) throw new Error(`${n.name}: no commas in SMBIOS strings`);
    args.push('-smbios', `type=1,manufacturer=${manufacturer},product=${product}`);
  }
  return args;
}

function firmwareArgs(n: NodeSpec): string[] {
  if (n.firmware === 'bios') return ['-boot', 'order=n'];
  if (!n.varsFile) throw new Error(`${n.name}: uefi needs a vars file`);
  // No bootindex: with one, OVMF rewrites BootOrder from QEMU's list on every boot, as a BMC's
  // persistent boot override would. Without, OVMF keeps the BootOrder in the vars file, like a
  // server's firmware: a blank disk's entry fails at once and the NIC boots; once installed,
  // the installer puts the network entry first and the disk right after it (handoff.sh), so
  // railyard decides every boot and iPXE's `exit` reaches the disk at once. OVMF's IPv6 PXE
  // (and, with an iPXE ROM, its IPv4 PXE too) would only add timeouts.
  const fw = [
    '-drive',
    `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
    '-drive',
    `if=pflash,format=raw,unit=1,file=${n.varsFile}`,
    '-fw_cfg',
    'name=opt/org.tianocore/IPv6PXESupport,string=n',
  ];
  if (!n.noNicRom) fw.push('-fw_cfg', 'name=opt/org.tianocore/IPv4PXESupport,string=n');
  return fw;
}

function netArgs(n: NodeSpec): string[] {
  const rom = n.noNicRom ? ',romfile=' : '';
  const index = n.bootindex ? ',bootindex=1' : '';
  const device = ['-device', `virtio-net-pci,netdev=n0,mac=${n.mac}${rom}${index}`];
  if (n.net.kind === 'tap') {
    return ['-netdev', `tap,id=n0,ifname=${n.net.ifname},script=no,downscript=no`, ...device];
  }
  const { bootfile, guestAddr, guestPort, hostPort } = n.net;
  const fwd = `guestfwd=tcp:${guestAddr}:${guestPort}-cmd:busybox nc 127.0.0.1 ${hostPort}`;
  return ['-netdev', `user,id=n0,restrict=on,bootfile=${bootfile},${fwd}`, ...device];
}
