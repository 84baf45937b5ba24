// Scenario 1: BIOS (SeaBIOS + QEMU's iPXE ROM), slirp restrict=on with one guestfwd to
// railyard: fresh disk → install → kexec into the installed system (one firmware POST) →
// first boot → provisioned. The release is the one whose image ships an OEM grub.cfg
// (set oem_id, set linux_append), and the profile's Ignition has kernelArguments: the
// installed system must boot with exactly the command line Flatcar's GRUB would build from
// that disk (checked against /proc/cmdline on the console), the kernel arguments must be in
// the OEM grub.cfg and not in the rendered Ignition, and the real Ignition must have applied
// the config's files, units and users.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderedTarget } from './lib/api.ts';
import { grubFirstBootCmdline, readInstalledDisk } from './lib/disk.ts';
import {
  assertProvisioned,
  bootedCmdline,
  expectFirstBoot,
  expectHandoff,
  expectInstall,
} from './lib/flow.ts';
import { CONSOLE, labMac, labProfile, macGroup } from './lib/machines.ts';
import { missingPrerequisite } from './lib/prereq.ts';
import { bootNode, slirpNode, startSlirpRailyard } from './lib/slirp.ts';
import { log, openLab } from './lib/suite.ts';

const NAME = "scenario 1: BIOS, slirp restrict=on: install, kexec with GRUB's command line, first boot";
const skip = missingPrerequisite();
const KARGS = ['railyard.e2e=1', 'systemd.show_status=1'];
const REPORT_UNIT = [
  '[Unit]',
  'ConditionFirstBoot=yes',
  '[Service]',
  'Type=oneshot',
  'ExecStart=/bin/sh -c \'echo "e2e: ignition applied: $(cat /etc/hostname) $(id alice)"\'',
  '[Install]',
  'WantedBy=multi-user.target',
  '',
].join('\n');

if (skip) {
  console.log(`  e2e skipped: ${skip}`);
  test.skip(NAME, () => {});
} else {
  test(NAME, async () => {
    const lab = await openLab('bios');
    try {
      const mac = labMac(1, 1);
      const version = lab.release.versions.at(-1)!; // its disk image has an OEM grub.cfg
      const ry = await startSlirpRailyard(
        lab,
        {
          profiles: {
            bios: labProfile({
              version,
              ignition: {
                ignition: { version: '3.3.0' },
                kernelArguments: { shouldExist: KARGS },
                passwd: { users: [{ name: 'alice', groups: ['wheel'] }] },
                storage: {
                  files: [{ path: '/etc/hostname', mode: 420, contents: { source: 'data:,{{hostname}}' } }],
                },
                systemd: { units: [{ name: 'e2e-report.service', enabled: true, contents: REPORT_UNIT }] },
              },
            }),
          },
          groups: { node1: macGroup('bios', mac, { hostname: 'bios1-e2e' }) },
        },
        [version],
      );
      assert.ok(
        lab.upstream.requests.some((r) => r.endsWith('.bin.bz2')),
        'mirror refresh fetched the image',
      );
      const node = await bootNode(lab, slirpNode(ry, 'bios1', mac, 'bios'));
      await expectInstall(node);
      await expectHandoff(node, 'kexec');
      await expectFirstBoot(node);
      assert.not.ok(node.saw(/railyard: booting .* from its local disk/), 'no second PXE boot');
      assert.ok(
        node.saw(/e2e: ignition applied: bios1-e2e uid=1000\(alice\) gid=\d+\(\w+\) groups=.*10\(wheel\)/),
        'Ignition wrote the files, created the user, and its unit ran',
      );
      await assertProvisioned(ry, node, 'kexec');

      const disk = await readInstalledDisk(node.spec.disk);
      assert.equal(disk.labels, ['EFI-SYSTEM', 'BIOS-BOOT', 'USR-A', 'USR-B', 'OEM', 'OEM-CONFIG', 'ROOT']);
      assert.not.ok(disk.firstBootFlag, 'the first boot removed /flatcar/first_boot');
      assert.match(disk.oemGrubCfg ?? '', /set oem_id="standin"/, "the image's own OEM grub.cfg is kept");
      assert.match(disk.oemGrubCfg ?? '', `set linux_append="$linux_append ${KARGS.join(' ')}"`);
      const target = JSON.parse((await renderedTarget(ry, mac)).toString()) as Record<string, unknown>;
      assert.is(target['kernelArguments'], undefined, 'kernelArguments are not in the rendered Ignition');
      const booted = bootedCmdline(node);
      assert.is(
        booted,
        grubFirstBootCmdline(disk, CONSOLE),
        "/proc/cmdline is GRUB's first-boot command line",
      );
      assert.match(
        booted,
        'flatcar.oem.id=standin standin.oem_append=1 railyard.e2e=1 systemd.show_status=1',
      );
      log(`booted with: ${booted}`);
      log(`scenario 1 done in ${((Date.now() - lab.t0) / 1000).toFixed(0)} s`);
    } finally {
      await lab.cleanup.run();
    }
  });
}

test.run();
