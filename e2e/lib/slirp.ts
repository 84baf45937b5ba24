// A slirp node (restrict=on): the guest reaches only railyard, as 10.0.2.100:<port>.
import { join } from 'node:path';
import type { Firmware, NodeSpec } from './qemu-args.ts';
import type { Railyard } from './railyard.ts';

export const GUEST_ADDR = '10.0.2.100';

export function slirpNode(ry: Railyard, name: string, mac: string, firmware: Firmware): NodeSpec {
  const port = Number(ry.opts.listen.split(':').at(-1));
  return {
    name,
    mac,
    firmware,
    disk: join(ry.opts.workDir, `${name}.qcow2`),
    ...(firmware === 'uefi' ? { varsFile: join(ry.opts.workDir, `${name}.vars.fd`) } : {}),
    net: {
      kind: 'user',
      bootfile: `http://${GUEST_ADDR}:${port}/boot.ipxe`,
      guestAddr: GUEST_ADDR,
      guestPort: port,
      hostPort: port,
    },
    ...(process.env['E2E_ACCEL'] ? { accel: process.env['E2E_ACCEL'] } : {}),
  };
}
