// Scenario 1: BIOS (SeaBIOS + QEMU's iPXE ROM), slirp restrict=on with one guestfwd to
// railyard: fresh disk → install → reboot → sanboot → first boot → provisioned; at first boot
// the installed system checks railyard for updates (Omaha) and gets 9999.1.0 (docs/updates.md).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertProvisioned, expectFirstBoot, expectInstall } from './lib/flow.ts';
import { labMac, labProfile, macGroup } from './lib/machines.ts';
import { missingPrerequisite } from './lib/prereq.ts';
import { bootNode, slirpNode, startSlirpRailyard } from './lib/slirp.ts';
import { log, openLab } from './lib/suite.ts';
import { assertUpdated } from './lib/updates.ts';

const NAME = 'scenario 1: BIOS, slirp restrict=on: install, sanboot, first boot, update offer';
const skip = missingPrerequisite();

if (skip) {
  console.log(`  e2e skipped: ${skip}`);
  test.skip(NAME, () => {});
} else {
  test(NAME, async () => {
    const lab = await openLab('bios');
    try {
      const mac = labMac(1, 1);
      const updates = { version: '9999.1.0', maxConcurrent: 1 }; // installs current (9999.0.0), offered 9999.1.0
      const ry = await startSlirpRailyard(
        lab,
        { profiles: { bios: labProfile({ updates }) }, groups: { node1: macGroup('bios', mac) } },
        ['9999.1.0'],
        { updates: true },
      );
      assert.ok(
        lab.upstream.requests.some((r) =>
          r.endsWith('/update/amd64-usr/9999.1.0/flatcar_production_update.gz'),
        ),
        'mirror refresh fetched the update payload',
      );
      assert.ok(
        lab.upstream.requests.some((r) => r.endsWith('.bin.bz2')),
        'mirror refresh fetched the image',
      );
      const node = await bootNode(lab, slirpNode(ry, 'bios1', mac, 'bios'));
      await expectInstall(node);
      await expectFirstBoot(node);
      assert.ok(node.saw(/railyard: booting .* from its local disk/), 'sanboot script after install');
      const detail = await assertProvisioned(ry, node);
      await assertUpdated(ry, node, detail, '9999.0.0', '9999.1.0');
      log(`scenario 1 done in ${((Date.now() - lab.t0) / 1000).toFixed(0)} s`);
    } finally {
      await lab.cleanup.run();
    }
  });
}

test.run();
