// The compose lab's QEMU nodes, followed through `docker logs -f`: each container runs
// scripts/lab/node.sh, which prints the serial console as "[seconds] line" and exits with
// QEMU. The E2E harness's NodeRun reads that stream like a local QEMU's console, so the
// suite's console expectations (e2e/lib/flow.ts) apply unchanged; the disk is read from the
// `disks` volume once the node has powered off.
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { Cleanup } from '../lib/cleanup.ts';
import { NodeRun } from '../lib/node-run.ts';
import type { Firmware, NodeSpec } from '../lib/qemu-args.ts';
import type { ComposeLab } from './compose.ts';

export interface LabNode {
  service: string;
  spec: NodeSpec;
  noNicRom: boolean;
}

/** The nodes as the compose file declares them (their node.sh arguments). */
export async function labNodes(lab: ComposeLab): Promise<LabNode[]> {
  const cfg = YAML.parse(await lab.compose(['config'])) as {
    services: Record<string, { command?: string[] }>;
  };
  const disks = await lab.volumePath('disks').catch(() => '');
  const nodes: LabNode[] = [];
  for (const [service, s] of Object.entries(cfg.services)) {
    const cmd = s.command;
    if (!cmd?.includes('--mac')) continue;
    const arg = (k: string) => cmd[cmd.indexOf(k) + 1];
    const firmware = (arg('--firmware') ?? 'bios') as Firmware;
    const disk = arg('--disk') ?? '';
    nodes.push({
      service,
      noNicRom: cmd.includes('--no-nic-rom'),
      spec: {
        name: arg('--name') ?? service,
        mac: arg('--mac')!,
        firmware,
        net: { kind: 'tap', ifname: 'lab-tap0' },
        disk: join(disks, disk.replace(/^\/disks\//, '')),
      },
    });
  }
  return nodes;
}

/** A NodeRun over the container's log stream; the console is also written to the work dir. */
export async function followNode(
  cleanup: Cleanup,
  lab: ComposeLab,
  node: LabNode,
  workDir: string,
): Promise<NodeRun> {
  const child = await lab.follow(cleanup, node.service);
  const serial = createWriteStream(join(workDir, `${node.service}.serial.log`), { flags: 'a' });
  cleanup.add(`close ${node.service} serial log`, () => serial.end());
  return new NodeRun(node.spec, child, (l) => serial.write(`${l.text}\n`));
}
