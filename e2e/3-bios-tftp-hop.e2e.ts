// Scenario 3: BIOS with the real TFTP hop on the namespace LAN, and a kernel that refuses
// kexec. QEMU's NIC ROM is already iPXE (LAB.md), so the DHCP config sends it straight to
// /boot.ipxe; the machine's profile has its own ipxeTemplate (user-level configuration, no test
// hook in railyard) that chains undionly.kpxe from railyard's TFTP once, then installs through
// the UNDI driver. Its kernelArgs add standin.kexec_load_disabled=1 (the stand-in sets
// /proc/sys/kernel/kexec_load_disabled, as a locked-down kernel would): handoff.sh falls back
// to a plain reboot and says why; the machine still boots its disk (sanboot), is provisioned
// and reported, after two firmware POSTs. Its profile asks for the stock image path (`image:
// bz2`: flatcar-install -b, Flatcar's signature checked on the node); the other scenarios
// install through railyard's .zst. At that first boot the installed system checks
// railyard for updates (Omaha, the update payloads mirrored) and gets 9999.1.0 offered
// (docs/updates.md).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventsOf } from './lib/api.ts';
import { assertProvisioned, expectFirstBoot, expectHandoff, expectInstall, SCALE } from './lib/flow.ts';
import { lanNode, lanUnavailable, startLanRailyard } from './lib/lan.ts';
import { CONSOLE, labMac, labProfile, macGroup } from './lib/machines.ts';
import { SRV_IP, SW_NS } from './lib/netns.ts';
import { REPO_ROOT } from './lib/paths.ts';
import { missingPrerequisite } from './lib/prereq.ts';
import { imageFields } from './lib/report.ts';
import { bootNode } from './lib/slirp.ts';
import { log, openLab } from './lib/suite.ts';
import { assertUpdated } from './lib/updates.ts';

const NAME =
  'scenario 3: BIOS, chain undionly.kpxe from railyard TFTP once; kexec refused: reboot, sanboot, first boot, update offer';
const skip = missingPrerequisite() ?? lanUnavailable();

if (skip) {
  console.log(`  e2e skipped: ${skip}`);
  test.skip(NAME, () => {});
} else {
  test(NAME, async () => {
    const lab = await openLab('undi');
    try {
      const mac = labMac(3, 1);
      const updates = { version: '9999.1.0', maxConcurrent: 1 }; // installs current (9999.0.0), offered 9999.1.0
      const template = await readFile(join(REPO_ROOT, 'e2e/fixtures/undionly-once.ipxe'), 'utf8');
      const lan = await startLanRailyard(
        lab,
        {
          profiles: {
            undi: labProfile({
              ipxeTemplate: 'undionly-once.ipxe',
              image: 'bz2',
              kernelArgs: [CONSOLE, 'standin.kexec_load_disabled=1'],
              updates,
            }),
          },
          groups: { node: macGroup('undi', mac, { tftpServer: SRV_IP }) },
          files: { 'undionly-once.ipxe': template },
        },
        1,
        { extraVersions: ['9999.1.0'], updates: true },
      );
      assert.ok(
        lab.upstream.requests.some((r) =>
          r.endsWith('/update/amd64-usr/9999.1.0/flatcar_production_update.gz'),
        ),
        'mirror refresh fetched the update payload',
      );
      const node = await bootNode(lab, lanNode(lan, 0, 'undi1', mac, 'bios'), { netns: SW_NS });
      await node.waitFor('ROM iPXE', /e2e: nic driver virtio-net/, 180 * SCALE);
      await node.waitFor('undionly.kpxe', /undionly\.kpxe/, 60 * SCALE);
      await node.waitFor('UNDI iPXE', /e2e: nic driver undionly/, 180 * SCALE);
      await expectInstall(node, { bootScriptSeen: true });
      await expectHandoff(node, 'reboot');
      await node.waitFor('sanboot', /railyard: booting .* from its local disk/, 240 * SCALE);
      await expectFirstBoot(node);
      const ryLog = await readFile(join(lab.workDir, 'railyard.log'), 'utf8');
      assert.match(ryLog, /undionly\.kpxe/, "railyard's TFTP served undionly.kpxe");
      const d = await assertProvisioned(lan.ry, node, 'reboot');
      assert.is(
        eventsOf(d, 'handoff').at(-1)?.data['reason'],
        'kexec-load-disabled: /proc/sys/kernel/kexec_load_disabled is 1',
      );
      await assertUpdated(lan.ry, node, d, '9999.0.0', '9999.1.0');
      assert.match(imageFields(d), /^image=bz2\/dense/, 'the bz2 path, as the profile asks');
      assert.ok(node.saw(/gpgv: Good signature/), "flatcar-install checked Flatcar's signature");
      log(`scenario 3 done in ${((Date.now() - lab.t0) / 1000).toFixed(0)} s`);
    } finally {
      await lab.cleanup.run();
    }
  });
}

test.run();
