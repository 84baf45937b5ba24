// The generated installer, run for real as root against a loop device: extract install.sh
// and target.ign from the per-machine cpio, run install.sh with a stand-in flatcar-install
// (see STANDIN below) and systemctl/udevadm shims first on PATH, against a signed
// test release on a local mirror and a report receiver. Skipped when not root.
import { execFile, execFileSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listenHttp } from '../http/listener.ts';
import type { StateStore, StoredEvent } from '../store/state-store.ts';
import { testApp } from '../testing/fixtures.ts';
import { freePort } from '../testing/spawn-railyard.ts';
import { cleanupDevice, extractInstaller, rootSkipReason } from './fixtures/loop.ts';
import { IMAGE, MARKER, makeRelease } from './fixtures/release.ts';
import { writeShims } from './fixtures/shims.ts';
import { MAC } from './fixtures/views.ts';

const run = promisify(execFile);
// The project's stand-in (scripts/standin/flatcar-install, branch `standin`) when it is in the
// tree, else the minimal one in fixtures/; RAILYARD_FLATCAR_INSTALL picks another.
const OFFICIAL = new URL('../../scripts/standin/flatcar-install', import.meta.url).pathname;
const STANDIN =
  process.env['RAILYARD_FLATCAR_INSTALL'] ??
  (existsSync(OFFICIAL) ? OFFICIAL : new URL('./fixtures/flatcar-install', import.meta.url).pathname);
const TOOLS = [
  'losetup',
  'partx',
  'blkid',
  'mount',
  'umount',
  'mkfs.ext4',
  'sfdisk',
  'gpg',
  'gpgv',
  'bzip2',
  'wget',
  'curl',
  'cpio',
];

function skipReason(): string | undefined {
  return rootSkipReason(TOOLS);
}

interface Run {
  work: string;
  device: string;
  opt: string;
  stdout: string;
  version: string;
  disk: Buffer;
  publicUrl: string;
  store: StateStore;
}

/**
 * Set up a signed release in a real railyard's mirror, a machines dir whose profile installs
 * to a fresh loop device, and railyard itself on 127.0.0.1; ask /ipxe like the node would,
 * fetch the installer from /installer/<mac>.cpio.gz, run install.sh; check; always clean up.
 */
async function withInstall(tamper: boolean, check: (r: Run) => Promise<void>): Promise<void> {
  const reason = skipReason();
  if (reason) {
    console.log(`    SKIPPED host-side installer run: ${reason}`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'railyard-install-run-'));
  const release = makeRelease(work);
  if (tamper) appendFileSync(join(release.root, 'stable', 'amd64-usr', release.version, IMAGE), 'tampered');
  const backing = join(work, 'disk-backing.img');
  execFileSync('truncate', ['-s', '16M', backing]);
  const device = execFileSync('losetup', ['-f', '--show', backing]).toString().trim();
  const machinesDir = join(work, 'machines');
  mkdirSync(join(machinesDir, 'profiles'), { recursive: true });
  mkdirSync(join(machinesDir, 'groups'));
  writeFileSync(
    join(machinesDir, 'profiles', 'loop.yaml'),
    `version: ${release.version}\ninstallDisk: ${device}\nignition:\n  ignition: {version: 3.3.0}\n  passwd: {users: [{name: core}]}\n`,
  );
  writeFileSync(join(machinesDir, 'groups', 'default.yaml'), 'profile: loop\n');
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const railyard = await testApp({ machinesDir, publicUrl, mirrored: false, keyring: release.keyring });
  execFileSync('cp', ['-a', `${release.root}/.`, join(railyard.dataDir, 'mirror')]);
  const listener = await listenHttp(railyard.app, { host: '127.0.0.1', port });
  try {
    const script = await (await fetch(`${publicUrl}/ipxe?mac=${MAC}&platform=pcbios`)).text();
    assert.match(script, `/installer/${MAC.replaceAll(':', '-')}.cpio.gz`);
    const cpio = await fetch(`${publicUrl}/installer/${MAC.replaceAll(':', '-')}.cpio.gz`);
    assert.is(cpio.status, 200);
    const opt = extractInstaller(Buffer.from(await cpio.arrayBuffer()), work);
    const shims = writeShims(work);
    execFileSync('cp', [STANDIN, join(shims.bin, 'flatcar-install')]);
    const gnupg = join(work, 'gnupg-installer');
    mkdirSync(gnupg, { mode: 0o700 });
    const { stdout } = await run('bash', [join(opt, 'install.sh')], {
      env: { ...process.env, PATH: `${shims.bin}:${process.env['PATH']}`, GNUPGHOME: gnupg },
      timeout: 120_000,
    });
    await check({
      work,
      device,
      opt,
      stdout,
      version: release.version,
      disk: release.disk,
      publicUrl,
      store: railyard.store,
    });
  } finally {
    cleanupDevice(device, join(work, 'check'));
    await listener.stop(Date.now());
    railyard.cleanup();
    release.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The installer's state reports (its `progress` reports are checked in write-image.test.ts). */
async function reportsFor(store: StateStore): Promise<StoredEvent[]> {
  return (await store.events(MAC)).filter((e) => e.source === 'installer' && e.type !== 'progress');
}

test('install.sh from railyard installs onto a loop device, railyard records it, then serves disk boot', async () => {
  await withInstall(false, async ({ work, device, opt, stdout, version, disk, publicUrl, store }) => {
    const reports = await reportsFor(store);
    assert.equal(
      reports.map((e) => e.type),
      ['install-started', 'installed', 'handoff'],
      stdout,
    );
    // The test image is an MBR disk, not Flatcar's GPT: handoff.sh refuses to kexec into it.
    assert.equal(reports[2]?.data, {
      method: 'reboot',
      reason: `disk: no EFI-SYSTEM partition on ${device}`,
    });
    assert.not.ok(existsSync(join(work, 'calls', 'kexec.log')), 'kexec never ran');
    assert.is((await store.getMachine(MAC))?.state, 'installed');
    assert.is(readFileSync(join(work, 'calls', 'systemctl.log'), 'utf8'), 'reboot\n');
    // The stand-in may settle too; the script's own settle comes last, before the reboot.
    assert.is(
      readFileSync(join(work, 'calls', 'udevadm.log'), 'utf8')
        .trim()
        .split('\n')
        .at(-1),
      'settle',
    );
    const next = await fetch(`${publicUrl}/ipxe?mac=${MAC}&platform=pcbios`, {
      headers: { 'user-agent': 'iPXE/1.0.0' },
    });
    assert.is(next.headers.get('x-railyard-decision'), 'local-boot');
    assert.match(await next.text(), 'sanboot --no-describe --drive 0x80');

    const onDisk = execFileSync('dd', [`if=${device}`, 'bs=1M', 'count=1', 'status=none'], {
      maxBuffer: 2 << 20,
    });
    assert.ok(
      onDisk.equals(disk.subarray(0, 1 << 20)),
      'the first MiB (MBR and gap) of the loop device equals the image',
    );
    const mnt = join(work, 'check');
    execFileSync('partx', ['-u', device]);
    mkdirSync(mnt);
    execFileSync('mount', ['-o', 'ro', `${device}p1`, mnt]);
    assert.is(readFileSync(join(mnt, MARKER), 'utf8'), `${version}\n`);
    assert.is(readFileSync(join(mnt, 'config.ign'), 'utf8'), readFileSync(join(opt, 'target.ign'), 'utf8'));
    const installed = JSON.parse(readFileSync(join(mnt, 'config.ign'), 'utf8')) as {
      systemd: { units: Array<{ name: string }> };
    };
    assert.equal(
      installed.systemd.units.map((u) => u.name),
      ['railyard-first-boot.service'],
    );
  });
});

test('a bad signature: railyard records install-failed with the exit code and gpgv output, disk untouched, still reboots', async () => {
  await withInstall(true, async ({ work, device, stdout, store }) => {
    const received = (await reportsFor(store)).map((e) => ({
      body: { type: e.type, ...e.data } as Record<string, unknown>,
    }));
    assert.equal(
      received.map((r) => r.body['type']),
      ['install-started', 'install-failed'],
      stdout,
    );
    assert.is((await store.getMachine(MAC))?.state, 'failed');
    const failed = received[1]?.body ?? {};
    assert.ok(typeof failed['exitCode'] === 'number' && failed['exitCode'] > 0);
    assert.match(String(failed['output']), /BAD signature|verify|CRC|gpgv/i);
    const head = execFileSync('dd', [`if=${device}`, 'bs=1M', 'count=1', 'status=none'], {
      maxBuffer: 2 << 20,
    });
    assert.ok(
      head.every((b) => b === 0),
      'nothing was written',
    );
    assert.is(readFileSync(join(work, 'calls', 'systemctl.log'), 'utf8'), 'reboot\n');
  });
});

test.run();
