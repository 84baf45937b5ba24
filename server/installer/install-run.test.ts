// The generated installer, run for real as root against a loop device: extract install.sh
// and target.ign from the per-machine cpio, run install.sh with a stand-in flatcar-install
// (see STANDIN below) and systemctl/udevadm shims first on PATH, against a signed
// test release on a local mirror and a report receiver. Skipped when not root.
import { execFile, execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
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
import { gunzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildInstallerCpio, CONFIG_PATH } from './cache.ts';
import { decodeInstaller } from './fixtures/decode.ts';
import { serveDirectory, type TestMirror } from './fixtures/mirror.ts';
import { type Received, startReceiver } from './fixtures/receiver.ts';
import { IMAGE, MARKER, makeRelease } from './fixtures/release.ts';
import { writeShims } from './fixtures/shims.ts';
import { fixedView, MAC, TOKEN } from './fixtures/views.ts';
import { reportUrl } from './script.ts';

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
  if (process.getuid?.() !== 0) return 'not root (needs loop devices and mount)';
  const missing = TOOLS.filter((t) => {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  return missing.length > 0 ? `missing tools: ${missing.join(', ')}` : undefined;
}

/** Unpack the cpio with GNU cpio, then decode config.ign's files into `<dir>/opt/railyard`. */
function extractInstaller(cpioGz: Buffer, dir: string): string {
  const unpacked = join(dir, 'initrd');
  mkdirSync(unpacked);
  execFileSync('cpio', ['-i', '-d', '--quiet', '--no-absolute-filenames'], {
    input: gunzipSync(cpioGz),
    cwd: unpacked,
  });
  const config = JSON.parse(readFileSync(join(unpacked, CONFIG_PATH), 'utf8')) as Record<string, unknown>;
  const opt = join(dir, 'opt', 'railyard');
  mkdirSync(opt, { recursive: true });
  for (const [path, file] of decodeInstaller(config).files) {
    const target = join(opt, path.replace('/opt/railyard/', ''));
    writeFileSync(target, file.text);
    chmodSync(target, file.mode);
  }
  return opt;
}

interface Run {
  work: string;
  device: string;
  opt: string;
  stdout: string;
  received: Received[];
  mirrorRequests: TestMirror['requests'];
  version: string;
  disk: Buffer;
}

/** Set up release, mirror, receiver and loop device; run install.sh; check; always clean up. */
async function withInstall(tamper: boolean, check: (r: Run) => void): Promise<void> {
  const reason = skipReason();
  if (reason) {
    console.log(`    SKIPPED host-side installer run: ${reason}`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'railyard-install-run-'));
  const release = makeRelease(work);
  if (tamper) appendFileSync(join(release.root, 'stable', 'amd64-usr', release.version, IMAGE), 'tampered');
  const mirror = await serveDirectory(release.root);
  const receiver = await startReceiver();
  const backing = join(work, 'disk-backing.img');
  execFileSync('truncate', ['-s', '16M', backing]);
  const device = execFileSync('losetup', ['-f', '--show', backing]).toString().trim();
  try {
    const mirrorBase = `${mirror.url}/stable/amd64-usr`;
    const body = await buildInstallerCpio({
      profile: {
        installDisk: device,
        phoneHome: true,
        ignitionTemplate: { ignition: { version: '3.3.0' }, passwd: { users: [{ name: 'core' }] } },
      },
      view: fixedView({ mirrorBase, installDisk: device }),
      version: release.version,
      token: TOKEN,
      reportUrl: reportUrl(receiver.url, MAC),
      keyring: release.keyring,
    });
    const opt = extractInstaller(body, work);
    const shims = writeShims(work);
    execFileSync('cp', [STANDIN, join(shims.bin, 'flatcar-install')]);
    const gnupg = join(work, 'gnupg-installer');
    mkdirSync(gnupg, { mode: 0o700 });
    const { stdout } = await run('bash', [join(opt, 'install.sh')], {
      env: { ...process.env, PATH: `${shims.bin}:${process.env['PATH']}`, GNUPGHOME: gnupg },
      timeout: 120_000,
    });
    check({
      work,
      device,
      opt,
      stdout,
      received: receiver.received,
      mirrorRequests: mirror.requests,
      version: release.version,
      disk: release.disk,
    });
  } finally {
    cleanupDevice(device, join(work, 'check'));
    await mirror.close();
    await receiver.close();
    release.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

test('install.sh installs the release onto a loop device, reports, and requests a reboot', async () => {
  await withInstall(false, ({ work, device, opt, stdout, received, mirrorRequests, version, disk }) => {
    assert.equal(
      received.map((r) => r.body),
      [{ type: 'install-started' }, { type: 'installed' }],
      stdout,
    );
    assert.ok(
      received.every(
        (r) => r.authorization === `Bearer ${TOKEN}` && r.path === `/api/v1/machines/${MAC}/events`,
      ),
    );
    assert.is(readFileSync(join(work, 'calls', 'systemctl.log'), 'utf8'), 'reboot\n');
    // The stand-in may settle too; the script's own settle comes last, before the reboot.
    assert.is(
      readFileSync(join(work, 'calls', 'udevadm.log'), 'utf8')
        .trim()
        .split('\n')
        .at(-1),
      'settle',
    );
    const heads = mirrorRequests.filter((r) => r.method === 'HEAD').map((r) => r.path);
    assert.equal(heads, [
      `/stable/amd64-usr/${version}/${IMAGE}`,
      `/stable/amd64-usr/${version}/${IMAGE}.sig`,
    ]);

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

test('a bad signature: install-failed with the exit code and gpgv output, disk untouched, still reboots', async () => {
  await withInstall(true, ({ work, device, stdout, received }) => {
    assert.equal(
      received.map((r) => r.body['type']),
      ['install-started', 'install-failed'],
      stdout,
    );
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

/** Undo everything done to the loop device this test attached, and nothing else. */
function cleanupDevice(device: string, mnt: string): void {
  for (const cmd of [
    ['umount', mnt],
    ['partx', '-d', device],
    ['losetup', '-d', device],
  ]) {
    try {
      execFileSync(cmd[0] as string, cmd.slice(1), { stdio: 'ignore' });
    } catch {
      // not mounted / no partitions: fine
    }
  }
}

test.run();
