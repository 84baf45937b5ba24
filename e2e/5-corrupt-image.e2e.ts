// Scenario 5: the mirrored image is corrupted after mirroring (one byte flipped under the
// data dir): flatcar-install's signature check fails, railyard records install-failed with
// the reason, shows it on the console (profile onFailure: show), and the disk is left wiped
// (nothing bootable, no half-written image).
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventsOf, waitState } from './lib/api.ts';
import { headIsZero } from './lib/disk.ts';
import { SCALE } from './lib/flow.ts';
import { labMac, labProfile, macGroup } from './lib/machines.ts';
import { missingPrerequisite } from './lib/prereq.ts';
import { printNodeReport } from './lib/report.ts';
import { bootNode, slirpNode, startSlirpRailyard } from './lib/slirp.ts';
import { log, openLab } from './lib/suite.ts';

const NAME = 'scenario 5: corrupted mirror image: install-failed with the reason, disk not bootable';
const skip = missingPrerequisite();

async function flipByte(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  const { size } = await fh.stat();
  const buf = Buffer.alloc(1);
  await fh.read(buf, 0, 1, Math.floor(size / 2));
  buf[0] = buf[0]! ^ 0x01;
  await fh.write(buf, 0, 1, Math.floor(size / 2));
  await fh.close();
}

if (skip) {
  console.log(`  e2e skipped: ${skip}`);
  test.skip(NAME, () => {});
} else {
  test(NAME, async () => {
    const lab = await openLab('corrupt');
    try {
      const mac = labMac(5, 1);
      const version = lab.release.versions.at(-1)!;
      const ry = await startSlirpRailyard(
        lab,
        {
          profiles: { pinned: labProfile({ version, onFailure: 'show' }) },
          groups: { node: macGroup('pinned', mac) },
        },
        [version],
      );
      const image = join(ry.dataDir, 'mirror/stable/amd64-usr', version, 'flatcar_production_image.bin.bz2');
      await flipByte(image);
      log(`flipped one byte in ${image}`);
      const node = await bootNode(lab, slirpNode(ry, 'corrupt1', mac, 'bios'));
      await node.waitFor('install script', /railyard: installing Flatcar/, 180 * SCALE);
      await node.waitFor('PXE initramfs', /Flatcar stand-in \S+ PXE initramfs/, 240 * SCALE);
      await node.waitFor('bad signature', /BAD signature|signature verification failed/, 300 * SCALE);
      await node.waitFor('failure shown', /railyard: the install on \S+ failed 1 time/, 240 * SCALE);
      const d = await waitState(ry, mac, 'failed', 30 * SCALE);
      await node.stop();
      const failed = eventsOf(d, 'install-failed');
      assert.is(failed.length, 1, 'one install-failed event');
      assert.match(String(failed[0]!.data['output']), /signature/i, 'install-failed carries the reason');
      assert.ok(d.machine.failureReason, 'failureReason recorded');
      assert.not.ok(eventsOf(d, 'installed').length, 'never reported installed');
      assert.not.ok(eventsOf(d, 'handoff').length, 'a failed install hands off to nothing: a plain reboot');
      assert.not.ok(node.saw(/BOOTED FROM DISK/), 'did not boot from the failed disk');
      assert.not.ok(
        node.saw(/railyard: booting .* from its local disk/),
        'railyard did not send it to its disk',
      );
      assert.ok(await headIsZero(node.spec.disk), 'first 4 MiB of the disk are zero (wiped)');
      log(`failureReason: ${d.machine.failureReason}`);
      printNodeReport(node, d);
    } finally {
      await lab.cleanup.run();
    }
  });
}

test.run();
