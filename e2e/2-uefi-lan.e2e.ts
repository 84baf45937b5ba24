// Scenario 2: UEFI (OVMF) with the NIC ROM disabled (romfile=), on a namespace LAN with
// dnsmasq configured by `railyard dhcp-config --flavor dnsmasq`: OVMF's own PXE client gets
// snponly.efi from railyard's TFTP, iPXE chains /boot.ipxe, install, `exit` back to the
// firmware, disk boot, first boot.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dnsmasqLog } from './lib/dnsmasq.ts';
import { assertProvisioned, expectFirstBoot, expectInstall, SCALE } from './lib/flow.ts';
import { lanNode, lanUnavailable, startLanRailyard } from './lib/lan.ts';
import { labMac, labProfile, macGroup } from './lib/machines.ts';
import { SW_NS } from './lib/netns.ts';
import { missingPrerequisite } from './lib/prereq.ts';
import { bootNode } from './lib/slirp.ts';
import { log, openLab } from './lib/suite.ts';

const NAME =
  "scenario 2: UEFI, OVMF's own PXE (romfile=), dnsmasq + railyard TFTP: install, exit, first boot";
const skip = missingPrerequisite() ?? lanUnavailable();

if (skip) {
  console.log(`  e2e skipped: ${skip}`);
  test.skip(NAME, () => {});
} else {
  test(NAME, async () => {
    const lab = await openLab('uefi');
    try {
      const mac = labMac(2, 1);
      const lan = await startLanRailyard(
        lab,
        { profiles: { uefi: labProfile() }, groups: { node: macGroup('uefi', mac) } },
        1,
      );
      const node = await bootNode(lab, lanNode(lan, 0, 'uefi1', mac, 'uefi', true), { netns: SW_NS });
      await node.waitFor('OVMF PXE', /Start PXE over IPv4/, 240 * SCALE);
      await node.waitFor('snponly.efi (iPXE)', /iPXE initialising devices|iPXE \d/, 240 * SCALE);
      await expectInstall(node);
      await node.waitFor('exit to firmware', /handing back to the firmware/, 300 * SCALE);
      await expectFirstBoot(node);
      const dhcp = await dnsmasqLog(lan.dnsmasqLog);
      assert.match(dhcp, /PXEClient:Arch:00007/, 'dnsmasq saw OVMF as a UEFI PXE client');
      assert.match(dhcp, /filename: snponly\.efi|snponly\.efi/, 'dnsmasq sent it to snponly.efi');
      const ryLog = await readFile(join(lab.workDir, 'railyard.log'), 'utf8');
      assert.match(ryLog, /snponly\.efi/, "railyard's TFTP served snponly.efi");
      await assertProvisioned(lan.ry, node);
      log(`scenario 2 done in ${((Date.now() - lab.t0) / 1000).toFixed(0)} s`);
    } finally {
      await lab.cleanup.run();
    }
  });
}

test.run();
