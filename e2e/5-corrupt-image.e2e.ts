// Scenario 5: the mirror's derived .zst is corrupted after mirroring (one byte flipped under the
// data dir): the installer's digest check (the SHA-256 railyard pinned in this attempt's
// installer) fails, railyard records install-failed with the reason, shows it on the console
// (profile onFailure: show), and the disk is left wiped (nothing bootable, no half-written
// image). `railyard mirror refresh` finds the corrupt file and rebuilds it from the re-verified
// .bz2; after `railyard machines reprovision` the node installs and boots.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventsOf, waitState } from './lib/api.ts';
import { headIsZero } from './lib/disk.ts';
import { assertProvisioned, expectFirstBoot, expectInstall, SCALE } from './lib/flow.ts';
import { labMac, labProfile, macGroup } from './lib/machines.ts';
import { missingPrerequisite } from './lib/prereq.ts';
import { printNodeReport } from './lib/report.ts';
import { bootNode, slirpNode, startSlirpRailyard } from './lib/slirp.ts';
import { log, openLab } from './lib/suite.ts';

const NAME =
  'scenario 5: corrupted .zst on the mirror: install-failed, disk wiped; the mirror repairs it, the retry installs';
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
      const zst = join(
        ry.dataDir,
        'mirror/stable/amd64-usr',
        version,
        'railyard/flatcar_production_image.bin.zst',
      );
      await flipByte(zst);
      log(`flipped one byte in ${zst}`);
      const spec = slirpNode(ry, 'corrupt1', mac, 'bios');
      const node = await bootNode(lab, spec);
      await node.waitFor('install script', /railyard: installing Flatcar/, 180 * SCALE);
      await node.waitFor('PXE initramfs', /Flatcar stand-in \S+ PXE initramfs/, 240 * SCALE);
      await node.waitFor('digest mismatch', /railyard: install failed: image digest mismatch/, 300 * SCALE);
      await node.waitFor('failure shown', /railyard: the install on \S+ failed 1 time/, 240 * SCALE);
      const d = await waitState(ry, mac, 'failed', 60 * SCALE);
      await node.stop();
      const failed = eventsOf(d, 'install-failed');
      assert.is(failed.length, 1, 'one install-failed event');
      assert.match(
        String(failed[0]!.data['reason']),
        /image digest mismatch/,
        'install-failed carries the reason',
      );
      assert.match(d.machine.failureReason ?? '', /image digest mismatch/);
      assert.not.ok(eventsOf(d, 'installed').length, 'never reported installed');
      assert.not.ok(eventsOf(d, 'handoff').length, 'a failed install hands off to nothing: a plain reboot');
      assert.not.ok(node.saw(/BOOTED FROM DISK/), 'did not boot from the failed disk');
      assert.ok(node.saw(/railyard: wiping what was written/), 'the installer wiped what it wrote');
      assert.ok(await headIsZero(spec.disk), 'first 4 MiB of the disk are zero (wiped)');
      printNodeReport(node, d);

      const refresh = JSON.parse(await ry.cli(['mirror', 'refresh', '--json'])) as {
        versions: Array<{ version: string; steps?: { image?: { status: string; reason?: string } } }>;
      };
      const image = refresh.versions.find((v) => v.version === version)?.steps?.image;
      assert.is(image?.status, 'rebuilt', JSON.stringify(refresh.versions));
      assert.match(image?.reason ?? '', /SHA-256 differs/);
      log(`mirror refresh rebuilt the .zst (${image?.reason})`);

      log(await ry.cli(['machines', 'reprovision', mac]));
      const retry = await bootNode(lab, spec, { keepDisk: true });
      await expectInstall(retry);
      await expectFirstBoot(retry);
      const done = await assertProvisioned(ry, retry);
      assert.is(eventsOf(done, 'install-failed').length, 1);
      assert.is(done.machine.failures, 0, 'reprovision starts the count again');
      log(`scenario 5 done in ${((Date.now() - lab.t0) / 1000).toFixed(0)} s`);
    } finally {
      await lab.cleanup.run();
    }
  });
}

test.run();
