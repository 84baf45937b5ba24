// Scenario 2: UEFI (OVMF) with the NIC ROM disabled (romfile=), on a namespace LAN with
// dnsmasq configured by `railyard dhcp-config --flavor dnsmasq`: OVMF's own PXE client gets
// snponly.efi from railyard's TFTP, iPXE chains /boot.ipxe, install, kexec into the installed
// system (one firmware POST), first boot. Then a power cycle of the same VM (same OVMF vars):
// PXE first, railyard answers `exit`, and the firmware boots the installed disk at once
// through the boot entry the installer put right after the network entry (no walk through
// OVMF's other network entries), without installing again.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventsOf, machine } from './lib/api.ts';
import { dnsmasqLog } from './lib/dnsmasq.ts';
import { assertProvisioned, expectFirstBoot, expectHandoff, expectInstall, SCALE } from './lib/flow.ts';
import { lanNode, lanUnavailable, startLanRailyard } from './lib/lan.ts';
import { labMac, labProfile, macGroup } from './lib/machines.ts';
import { SW_NS } from './lib/netns.ts';
import type { NodeRun } from './lib/node-run.ts';
import { missingPrerequisite } from './lib/prereq.ts';
import { postCount, printNodeReport } from './lib/report.ts';
import { bootNode } from './lib/slirp.ts';
import { log, openLab } from './lib/suite.ts';

const NAME =
  "scenario 2: UEFI, OVMF's own PXE (romfile=), dnsmasq + railyard TFTP: install, kexec, first boot; power cycle boots the disk directly";
const skip = missingPrerequisite() ?? lanUnavailable();
const ENTRY = 'Flatcar Container Linux (railyard)';

/** The first boot entry OVMF tried after iPXE handed back to it. */
function entryAfterExit(node: NodeRun): string | undefined {
  const exit = node.lines.findIndex((l) => /handing back to the firmware/.test(l.text));
  const next = node.lines.slice(exit + 1).find((l) => /BdsDxe: (loading|failed to load) Boot/.test(l.text));
  return /"([^"]+)"/.exec(next?.text ?? '')?.[1];
}

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
      const spec = lanNode(lan, 0, 'uefi1', mac, 'uefi', true);
      const node = await bootNode(lab, spec, { netns: SW_NS });
      await node.waitFor('OVMF PXE', /Start PXE over IPv4/, 240 * SCALE);
      await node.waitFor('snponly.efi (iPXE)', /iPXE initialising devices|iPXE \d/, 240 * SCALE);
      await expectInstall(node);
      await node.waitFor('boot entry', /railyard: handoff: boot order: /, 60 * SCALE);
      await expectHandoff(node, 'kexec');
      await expectFirstBoot(node);
      const dhcp = await dnsmasqLog(lan.dnsmasqLog);
      assert.match(dhcp, /PXEClient:Arch:00007/, 'dnsmasq saw OVMF as a UEFI PXE client');
      assert.match(dhcp, /filename: snponly\.efi|snponly\.efi/, 'dnsmasq sent it to snponly.efi');
      const ryLog = await readFile(join(lab.workDir, 'railyard.log'), 'utf8');
      assert.match(ryLog, /snponly\.efi/, "railyard's TFTP served snponly.efi");
      const provisioned = await assertProvisioned(lan.ry, node, 'kexec');

      // A later reboot: the direct path to the disk.
      const again = await bootNode(lab, spec, { keepDisk: true, netns: SW_NS });
      await again.waitFor('exit to firmware', /handing back to the firmware/, 240 * SCALE);
      await again.waitFor('disk boot', /BOOTED FROM DISK/, 120 * SCALE);
      await again.waitFor('boot done', /RAILYARD BOOT DONE/, 120 * SCALE);
      await again.waitExit(60 * SCALE);
      assert.is(entryAfterExit(again), ENTRY, 'after exit the firmware went straight to the installed disk');
      assert.is(postCount(again), 1);
      assert.not.ok(again.saw(/railyard: installing/), 'no second install');
      const d = await machine(lan.ry, mac);
      assert.is(d.machine.state, 'provisioned');
      assert.is(
        eventsOf(d, 'install-script-served').length,
        eventsOf(provisioned, 'install-script-served').length,
      );
      assert.is(eventsOf(d, 'disk-boot-script-served').length, 1, 'railyard sent it to its disk');
      assert.is(
        eventsOf(d, 'first-boot').length,
        1,
        'the first-boot report is not sent again (ROOT persists)',
      );
      printNodeReport(again);
      log(`scenario 2 done in ${((Date.now() - lab.t0) / 1000).toFixed(0)} s`);
    } finally {
      await lab.cleanup.run();
    }
  });
}

test.run();
