// Scenario 4: three nodes at once (distinct MACs, BIOS and UEFI mixed, slirp): all reach
// provisioned through railyard's .zst. n1 (BIOS) and n2 (UEFI, default kexecChecks: purgatory's
// SHA-256 check on) kexec; n3 (BIOS) carries SMBIOS strings that railyard's installer.kexecDeny
// lists, so it reboots instead (reason `denied`), and writes with the sparse writer (BLKZEROOUT
// on the virtio disk, then only the mapped ranges). Then the installed-machine rule: a power
// cycle boots from disk without installing again, and without a second first-boot report (the
// installed system's ROOT persists); after `railyard machines reprovision <mac>` the node
// installs again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventsOf, machine } from './lib/api.ts';
import {
  assertProvisioned,
  expectFirstBoot,
  expectHandoff,
  expectInstall,
  type Handoff,
  SCALE,
} from './lib/flow.ts';
import { labMac, labProfile, macGroup } from './lib/machines.ts';
import type { NodeRun } from './lib/node-run.ts';
import { missingPrerequisite } from './lib/prereq.ts';
import type { Firmware, NodeSpec } from './lib/qemu-args.ts';
import type { Railyard } from './lib/railyard.ts';
import { imageFields, printNodeReport } from './lib/report.ts';
import { bootNode, slirpNode, startSlirpRailyard } from './lib/slirp.ts';
import { type Lab, log, openLab } from './lib/suite.ts';

const NAME =
  'scenario 4: three nodes (BIOS kexec, UEFI kexec, BIOS denied kexec + sparse writer) at once; power cycle; reprovision';
const skip = missingPrerequisite();
const HANGS = { manufacturer: 'RailyardLab', product: 'HangsAfterKexec' };
const NODES: Array<{
  firmware: Firmware;
  profile: string;
  handoff: Handoff;
  writer: 'dense' | 'sparse';
  smbios?: typeof HANGS;
}> = [
  { firmware: 'bios', profile: 'lab', handoff: 'kexec', writer: 'dense' },
  { firmware: 'uefi', profile: 'checked', handoff: 'kexec', writer: 'dense' },
  { firmware: 'bios', profile: 'sparse', handoff: 'reboot', writer: 'sparse', smbios: HANGS },
];

async function provision(ry: Railyard, node: NodeRun, handoff: Handoff, writer = 'dense'): Promise<void> {
  await expectInstall(node);
  await expectHandoff(node, handoff);
  await expectFirstBoot(node);
  const d = await assertProvisioned(ry, node, handoff);
  assert.match(
    imageFields(d),
    new RegExp(`^image=zstd/${writer} download .* write .* verify `),
    imageFields(d),
  );
}

async function powerCycle(lab: Lab, ry: Railyard, node: NodeRun): Promise<void> {
  const prior = await machine(ry, node.spec.mac);
  const before = eventsOf(prior, 'install-script-served').length;
  const diskBoots = eventsOf(prior, 'disk-boot-script-served').length;
  const again = await bootNode(lab, node.spec, { keepDisk: true });
  if (node.spec.firmware === 'uefi')
    await again.waitFor('exit to firmware', /handing back to the firmware/, 240 * SCALE);
  await again.waitFor('disk boot', /BOOTED FROM DISK/, 240 * SCALE);
  await again.waitFor('boot done', /RAILYARD BOOT DONE/, 180 * SCALE);
  await again.waitExit(120 * SCALE);
  assert.not.ok(again.saw(/railyard: installing/), `${node.spec.name}: installed again on a power cycle`);
  const d = await machine(ry, node.spec.mac);
  assert.is(d.machine.state, 'provisioned');
  assert.is(eventsOf(d, 'install-script-served').length, before, 'no new install script served');
  assert.is(eventsOf(d, 'disk-boot-script-served').length, diskBoots + 1, 'railyard sent it to its disk');
  assert.is(eventsOf(d, 'first-boot').length, 1, `${node.spec.name}: first-boot reported once`);
  printNodeReport(again);
}

if (skip) {
  console.log(`  e2e skipped: ${skip}`);
  test.skip(NAME, () => {});
} else {
  test(NAME, async () => {
    const lab = await openLab('three');
    try {
      const macs = NODES.map((_, i) => labMac(4, i + 1));
      const ry = await startSlirpRailyard(
        lab,
        {
          profiles: {
            lab: labProfile(),
            checked: labProfile({ kexecChecks: true }),
            sparse: labProfile({ imageWriter: 'sparse' }),
          },
          groups: Object.fromEntries(macs.map((m, i) => [`node${i + 1}`, macGroup(NODES[i]!.profile, m)])),
        },
        [],
        { installer: { kexecDeny: [HANGS] } },
      );
      const specs: NodeSpec[] = NODES.map((n, i) => ({
        ...slirpNode(ry, `n${i + 1}-${n.firmware}`, macs[i]!, n.firmware),
        ...(n.smbios ? { smbios: n.smbios } : {}),
      }));
      const nodes = await Promise.all(specs.map((s) => bootNode(lab, s)));
      await Promise.all(nodes.map((n, i) => provision(ry, n, NODES[i]!.handoff, NODES[i]!.writer)));
      const denied = await machine(ry, macs[2]!);
      assert.is(
        eventsOf(denied, 'handoff').at(-1)?.data['reason'],
        `denied: installer.kexecDeny[0] matches manufacturer=${HANGS.manufacturer} product=${HANGS.product}`,
      );
      log(`three nodes provisioned at +${((Date.now() - lab.t0) / 1000).toFixed(0)} s`);
      await Promise.all([powerCycle(lab, ry, nodes[0]!), powerCycle(lab, ry, nodes[1]!)]);
      const target = nodes[0]!;
      log(await ry.cli(['machines', 'reprovision', target.spec.mac]));
      const again = await bootNode(lab, target.spec, { keepDisk: true });
      await provision(ry, again, 'kexec');
      const d = await machine(ry, target.spec.mac);
      assert.is(eventsOf(d, 'install-script-served').length, 2, 'installed a second time');
      assert.ok(eventsOf(d, 'reprovision-requested').length === 1, 'reprovision recorded');
      log(`scenario 4 done in ${((Date.now() - lab.t0) / 1000).toFixed(0)} s`);
    } finally {
      await lab.cleanup.run();
    }
  });
}

test.run();
