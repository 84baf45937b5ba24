// Slirp suites: railyard on 127.0.0.1 and nodes on user-mode networking with restrict=on, so
// a guest reaches only railyard, as 10.0.2.100:<port> (one guestfwd per node).
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { freshDisk, type NodeRun, startNode } from './node-run.ts';
import type { Firmware, NodeSpec } from './qemu-args.ts';
import { freePort, type Railyard, type RailyardOptions, startRailyard } from './railyard.ts';
import type { Lab } from './suite.ts';

export const GUEST_ADDR = '10.0.2.100';

export async function startSlirpRailyard(
  lab: Lab,
  machines: RailyardOptions['machines'],
  extraVersions: string[] = [],
  extra: Pick<RailyardOptions, 'updates' | 'installer'> = {},
): Promise<Railyard> {
  const port = await freePort();
  return startRailyard(lab.cleanup, {
    workDir: lab.workDir,
    release: lab.release,
    upstreamUrl: lab.upstream.url,
    listen: `127.0.0.1:${port}`,
    publicUrl: `http://${GUEST_ADDR}:${port}`,
    extraVersions,
    machines,
    ...extra,
  });
}

export function slirpNode(ry: Railyard, name: string, mac: string, firmware: Firmware): NodeSpec {
  const port = Number(ry.opts.listen.split(':').at(-1));
  return {
    ...baseSpec(ry.opts.workDir, name, mac, firmware),
    net: {
      kind: 'user',
      bootfile: `http://${GUEST_ADDR}:${port}/boot.ipxe`,
      guestAddr: GUEST_ADDR,
      guestPort: port,
      hostPort: port,
    },
  };
}

export function baseSpec(
  workDir: string,
  name: string,
  mac: string,
  firmware: Firmware,
): Omit<NodeSpec, 'net'> {
  return {
    name,
    mac,
    firmware,
    disk: join(workDir, `${name}.qcow2`),
    ...(firmware === 'uefi' ? { varsFile: join(workDir, `${name}.vars.fd`) } : {}),
    ...(process.env['E2E_ACCEL'] ? { accel: process.env['E2E_ACCEL'] } : {}),
  };
}

/** Start a node (fresh disk unless `keepDisk`), its console appended to <workDir>/<name>.serial.log. */
export async function bootNode(
  lab: Lab,
  spec: NodeSpec,
  opts: { keepDisk?: boolean; netns?: string } = {},
): Promise<NodeRun> {
  if (!opts.keepDisk) await freshDisk(spec);
  const serial = createWriteStream(join(lab.workDir, `${spec.name}.serial.log`), { flags: 'a' });
  lab.cleanup.add(`close ${spec.name} serial log`, () => serial.end());
  return startNode(lab.cleanup, spec, {
    ...(opts.netns ? { netns: opts.netns } : {}),
    onLine: (l) => serial.write(`[${l.t.toFixed(1)}] ${l.text}\n`),
  });
}
