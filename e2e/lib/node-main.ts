// Command-line entry of the node runner (scripts/lab/node.sh, the docker-compose lab): the
// same QEMU command line and console reader as the E2E suites. Prints every console line as
// "[seconds] text" on stdout; exits with QEMU's status.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Cleanup } from './cleanup.ts';
import { freshDisk, startNode } from './node-run.ts';
import type { Firmware, NodeNet, NodeSpec } from './qemu-args.ts';

const USAGE = `Usage: node.sh --mac MAC --disk FILE.qcow2 (--tap IF | --slirp PORT) [options]
  --name N          name in the output (default: the MAC)
  --firmware F      bios (default) | uefi
  --vars FILE       OVMF vars copy (uefi; default <disk>.vars.fd)
  --no-nic-rom      no NIC option ROM: OVMF's own PXE client (uefi)
  --tap IF          tap networking on an existing tap device
  --slirp PORT      user networking, restrict=on: the guest reaches only 127.0.0.1:PORT as
                    10.0.2.100:PORT and boots http://10.0.2.100:PORT/boot.ipxe
  --fresh           (re)create the disk even if it exists
  --memory MB       guest memory (default 1024)
  --accel A         tcg (default) | kvm | kvm:tcg`;

function usage(): never {
  console.error(USAGE);
  process.exit(2);
}

function parse(): { spec: NodeSpec; fresh: boolean } {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions();
  } catch {
    usage();
  }
  const values = parsed.values;
  const fw = values.firmware;
  if (!values.mac || !values.disk || (fw !== 'bios' && fw !== 'uefi') || !(values.tap || values.slirp))
    usage();
  const firmware: Firmware = fw;
  const spec: NodeSpec = {
    name: values.name ?? values.mac,
    mac: values.mac,
    firmware,
    disk: values.disk,
    net: net(values.tap, values.slirp),
    memoryMb: Number(values.memory),
    accel: values.accel,
    ...(firmware === 'uefi' ? { varsFile: values.vars ?? `${values.disk}.vars.fd` } : {}),
    ...(values['no-nic-rom'] ? { noNicRom: true } : {}),
  };
  return { spec, fresh: values.fresh || !existsSync(values.disk) };
}

function parseOptions() {
  return parseArgs({
    options: {
      name: { type: 'string' },
      mac: { type: 'string' },
      firmware: { type: 'string', default: 'bios' },
      disk: { type: 'string' },
      vars: { type: 'string' },
      'no-nic-rom': { type: 'boolean', default: false },
      tap: { type: 'string' },
      slirp: { type: 'string' },
      fresh: { type: 'boolean', default: false },
      memory: { type: 'string', default: '1024' },
      accel: { type: 'string', default: 'tcg' },
    },
  });
}

function net(tap: string | undefined, slirp: string | undefined): NodeNet {
  if (tap) return { kind: 'tap', ifname: tap };
  const port = Number(slirp);
  const addr = '10.0.2.100';
  return {
    kind: 'user',
    bootfile: `http://${addr}:${port}/boot.ipxe`,
    guestAddr: addr,
    guestPort: port,
    hostPort: port,
  };
}

async function main(): Promise<number> {
  const { spec, fresh } = parse();
  if (fresh) await freshDisk(spec);
  const cleanup = new Cleanup();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup.run());
  const node = startNode(cleanup, spec, { onLine: (l) => console.log(`[${l.t.toFixed(1)}] ${l.text}`) });
  const code = await node.exited;
  await cleanup.run();
  return code ?? 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`node.sh: ${(err as Error).message}`);
    process.exit(1);
  },
);
