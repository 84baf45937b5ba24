// Scenario 1: BIOS (SeaBIOS + QEMU's iPXE ROM), slirp restrict=on with one guestfwd to
// railyard: fresh disk → install → reboot → sanboot → first boot → provisioned.
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertProvisioned, expectFirstBoot, expectInstall } from './lib/flow.ts';
import { labMac, labProfile, macGroup } from './lib/machines.ts';
import { freshDisk, startNode } from './lib/node-run.ts';
import { missingPrerequisite } from './lib/prereq.ts';
import { freePort, startRailyard } from './lib/railyard.ts';
import { slirpNode } from './lib/slirp.ts';
import { log, openLab } from './lib/suite.ts';

const NAME = 'scenario 1: BIOS, slirp restrict=on: install, sanboot, first boot';
const skip = missingPrerequisite();

if (skip) {
  console.log(`  e2e skipped: ${skip}`);
  test.skip(NAME, () => {});
} else {
  test(NAME, async () => {
    const lab = await openLab('bios');
    try {
      const mac = labMac(1, 1);
      const port = await freePort();
      const ry = await startRailyard(lab.cleanup, {
        workDir: lab.workDir,
        release: lab.release,
        upstreamUrl: lab.upstream.url,
        listen: `127.0.0.1:${port}`,
        publicUrl: `http://10.0.2.100:${port}`,
        machines: { profiles: { bios: labProfile() }, groups: { node1: macGroup('bios', mac) } },
      });
      assert.ok(
        lab.upstream.requests.some((r) => r.endsWith('.bin.bz2')),
        'mirror refresh fetched the image',
      );
      const spec = slirpNode(ry, 'bios1', mac, 'bios');
      await freshDisk(spec);
      const serial = createWriteStream(join(lab.workDir, 'bios1.serial.log'));
      const node = startNode(lab.cleanup, spec, {
        onLine: (l) => serial.write(`[${l.t.toFixed(1)}] ${l.text}\n`),
      });
      await expectInstall(node);
      assert.ok(node.saw(/railyard: installing/), 'install script ran');
      await expectFirstBoot(node);
      assert.ok(node.saw(/railyard: booting .* from its local disk/), 'sanboot script after install');
      await assertProvisioned(ry, node);
      log(`scenario 1 done in ${((Date.now() - lab.t0) / 1000).toFixed(0)} s`);
    } finally {
      await lab.cleanup.run();
    }
  });
}

test.run();
