// The zstd image path for real, as root: a signed test release, its derived files made by the
// mirror's own derivation (worker, lbzip2, zstd), railyard serving it, and the generated
// install.sh + write-image.sh run with the stand-in flatcar-install against a fresh loop device —
// dense and sparse writers, over zeros and over a disk pre-filled with 0xFF: the device holds the
// raw image byte for byte (outside the OEM partition, where config.ign was placed). A corrupted
// .zst fails with the digest reason and leaves the disk wiped, so does a download cut short and
// a write error; a live system without zstd, a disk too small for the zstd path and a profile
// asking for bz2 take the .bz2 path. Skipped when not root.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listenHttp } from '../http/listener.ts';
import { silentLogger } from '../log.ts';
import { deriveImage } from '../mirror/derive.ts';
import { DERIVED_DIR, DERIVED_FILES, type DerivedManifest } from '../mirror/derived.ts';
import { MANIFEST } from '../mirror/layout.ts';
import type { StoredEvent } from '../store/state-store.ts';
import { testApp } from '../testing/fixtures.ts';
import { freePort } from '../testing/spawn-railyard.ts';
import { cuttingProxy } from './fixtures/cutting-proxy.ts';
import { cleanupDevice, extractInstaller, rootSkipReason } from './fixtures/loop.ts';
import { IMAGE, MARKER, makeRelease, OEM_PART, type TestRelease } from './fixtures/release.ts';
import { writeShims } from './fixtures/shims.ts';
import { MAC } from './fixtures/views.ts';

const run = promisify(execFile);
const STANDIN = new URL('../../scripts/standin/flatcar-install', import.meta.url).pathname;
const MiB = 1 << 20;
const TOOLS = [
  'losetup',
  'partx',
  'blkid',
  'mount',
  'mkfs.ext4',
  'sfdisk',
  'gpg',
  'gpgv',
  'bzip2',
  'zstd',
  'openssl',
  'curl',
  'wget',
  'cpio',
  'blkdiscard',
];

interface Case {
  image: 'zstd' | 'bz2';
  writer: 'dense' | 'sparse';
  /** Byte the loop device is filled with before the install. */
  prefill: number;
  corrupt?: boolean;
  /** Run with a PATH that has no zstd. */
  noZstd?: boolean;
  /** Attach the loop device read-only: every write fails. */
  readOnly?: boolean;
  /** Disk size in MiB (default 32; the image is 24). */
  diskMiB?: number;
  /** Serve the .zst / .mapped.zst cut short: half its bytes, then the connection drops. */
  cut?: boolean;
}

interface Outcome {
  stdout: string;
  disk: Buffer;
  device: string;
  events: StoredEvent[];
  state: string | undefined;
  failureReason: string | undefined;
  target: string;
  oemFiles: Record<string, string>;
}

let work = '';
let release: TestRelease;
let mirror = '';
let derived: DerivedManifest;
let skip: string | undefined;

function skipReason(): string | undefined {
  return rootSkipReason(TOOLS);
}

test.before(async () => {
  skip = skipReason();
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'railyard-write-image-'));
  release = makeRelease(work, '9999.0.0', {
    sizeMiB: 24,
    segments: [
      { offset: 9 * MiB, length: MiB },
      { offset: 12 * MiB + 4096, length: 100_000 },
      { offset: 20 * MiB, length: 2 * MiB },
      { offset: 24 * MiB - 8192, length: 8192 },
    ],
  });
  mirror = release.root;
  const dir = join(mirror, 'stable', 'amd64-usr', release.version);
  const bz2 = readFileSync(join(dir, IMAGE));
  const sha512 = createHash('sha512').update(bz2).digest('hex');
  writeFileSync(join(dir, MANIFEST), JSON.stringify({ files: [{ name: IMAGE, size: bz2.length, sha512 }] }));
  derived = await deriveImage(
    { settings: { level: 3, long: 0, threads: 2 }, log: silentLogger(), trashDir: join(work, 'trash') },
    dir,
  );
});

test.after(() => {
  if (!work) return;
  release.cleanup();
  rmSync(work, { recursive: true, force: true });
});

/** A PATH of symlinks to every program of the usual directories except zstd. */
function pathWithoutZstd(root: string): string {
  const bin = join(root, 'no-zstd-bin');
  mkdirSync(bin, { recursive: true });
  for (const d of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    for (const name of readdirSync(d)) {
      if (name === 'zstd') continue;
      try {
        symlinkSync(join(d, name), join(bin, name));
      } catch {
        // the first directory wins, as on PATH
      }
    }
  }
  return bin;
}

async function install(c: Case): Promise<Outcome> {
  const dir = mkdtempSync(join(work, 'case-'));
  const backing = join(dir, 'disk.img');
  writeFileSync(backing, Buffer.alloc((c.diskMiB ?? 32) * MiB, c.prefill));
  const device = execFileSync('losetup', ['-f', '--show', ...(c.readOnly ? ['-r'] : []), backing])
    .toString()
    .trim();
  const machines = join(dir, 'machines');
  mkdirSync(join(machines, 'profiles'), { recursive: true });
  mkdirSync(join(machines, 'groups'));
  writeFileSync(
    join(machines, 'profiles', 'loop.yaml'),
    `version: ${release.version}\ninstallDisk: ${device}\nimage: ${c.image}\nimageWriter: ${c.writer}\n` +
      'ignition:\n  ignition: {version: 3.3.0}\n  passwd: {users: [{name: core}]}\n',
  );
  writeFileSync(join(machines, 'groups', 'default.yaml'), 'profile: loop\n');
  const port = await freePort();
  const proxy = c.cut ? await cuttingProxy(`http://127.0.0.1:${port}`, /\.zst$/) : undefined;
  const publicUrl = proxy?.url ?? `http://127.0.0.1:${port}`;
  const railyard = await testApp({
    machinesDir: machines,
    publicUrl,
    mirrored: false,
    keyring: release.keyring,
  });
  execFileSync('cp', ['-a', `${mirror}/.`, join(railyard.dataDir, 'mirror')]);
  if (c.corrupt) {
    const zst = join(
      railyard.dataDir,
      'mirror/stable/amd64-usr',
      release.version,
      DERIVED_DIR,
      DERIVED_FILES.zst,
    );
    const at = Math.floor(derived.zst.size / 2);
    const fd = openSync(zst, 'r+');
    writeSync(fd, Buffer.from([readFileSync(zst)[at]! ^ 0x01]), 0, 1, at);
    closeSync(fd);
  }
  const listener = await listenHttp(railyard.app, { host: '127.0.0.1', port });
  try {
    await fetch(`${publicUrl}/ipxe?mac=${MAC}&platform=pcbios`);
    const cpio = await fetch(`${publicUrl}/installer/${MAC.replaceAll(':', '-')}.cpio.gz`);
    const opt = extractInstaller(Buffer.from(await cpio.arrayBuffer()), dir);
    const shims = writeShims(dir);
    execFileSync('cp', [STANDIN, join(shims.bin, 'flatcar-install')]);
    const gnupg = join(dir, 'gnupg');
    mkdirSync(gnupg, { mode: 0o700 });
    const path = `${shims.bin}:${c.noZstd ? pathWithoutZstd(dir) : process.env['PATH']}`;
    const { stdout } = await run('bash', [join(opt, 'install.sh')], {
      env: { ...process.env, PATH: path, GNUPGHOME: gnupg, RAILYARD_PROGRESS_EVERY: '0.2' },
      timeout: 180_000,
    });
    const m = await railyard.store.getMachine(MAC);
    return {
      stdout,
      disk: readFileSync(backing),
      device,
      events: (await railyard.store.events(MAC)).filter((e) => e.source === 'installer'),
      state: m?.state,
      failureReason: m?.failureReason ?? undefined,
      target: readFileSync(join(opt, 'target.ign'), 'utf8'),
      oemFiles: readOem(device, join(dir, 'oem')),
    };
  } finally {
    cleanupDevice(device, join(dir, 'oem'));
    await proxy?.close();
    await listener.stop(Date.now());
    railyard.cleanup();
  }
}

/** The OEM partition's files (empty when it has none left), read with a read-only mount. */
function readOem(device: string, mnt: string): Record<string, string> {
  for (const op of ['-u', '-a']) {
    try {
      execFileSync('partx', [op, device], { stdio: 'ignore' });
      break;
    } catch {
      // no partition table (wiped) or not registered yet: try -a, then give up below
    }
  }
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-o', 'ro', `${device}p1`, mnt], { stdio: 'ignore' });
  } catch {
    return {};
  }
  try {
    return Object.fromEntries(
      readdirSync(mnt)
        .filter((n) => n !== 'lost+found')
        .map((n) => [n, readFileSync(join(mnt, n), 'utf8')]),
    );
  } finally {
    execFileSync('umount', [mnt]);
  }
}

/** The plan report, or a phase's closing report (the one with `seconds`; write progress has none). */
const progress = (o: Outcome, phase: string) =>
  o.events.find(
    (e) =>
      e.type === 'progress' &&
      e.data['phase'] === phase &&
      (phase === 'plan' || e.data['seconds'] !== undefined),
  )?.data;
const states = (o: Outcome) => o.events.filter((e) => e.type !== 'progress').map((e) => e.type);

/** Byte for byte outside the OEM partition; inside it only config.ign's few blocks differ. */
function assertImageOnDisk(o: Outcome): void {
  const raw = release.disk;
  const end = OEM_PART.offset + OEM_PART.size;
  assert.ok(o.disk.subarray(0, OEM_PART.offset).equals(raw.subarray(0, OEM_PART.offset)), 'before OEM');
  assert.ok(o.disk.subarray(end, raw.length).equals(raw.subarray(end)), 'after OEM, to the image end');
  let differing = 0;
  for (let at = OEM_PART.offset; at < end; at += 4096)
    if (!o.disk.subarray(at, at + 4096).equals(raw.subarray(at, at + 4096))) differing++;
  assert.ok(
    differing <= 64,
    `${differing} blocks of the OEM partition differ from the image (config.ign needs a few)`,
  );
  assert.is(o.oemFiles['config.ign'], o.target, 'config.ign placed');
  assert.is(o.oemFiles[MARKER], `${release.version}\n`, 'the image marker is intact');
}

for (const c of [
  { image: 'zstd', writer: 'dense', prefill: 0 },
  { image: 'zstd', writer: 'sparse', prefill: 0 },
  { image: 'zstd', writer: 'dense', prefill: 0xff },
  { image: 'zstd', writer: 'sparse', prefill: 0xff },
] as Case[]) {
  test(`zstd path, ${c.writer} writer, disk pre-filled with 0x${c.prefill.toString(16)}: the raw image lands byte for byte`, async () => {
    if (skip) return console.log(`    SKIPPED: ${skip}`);
    const o = await install(c);
    // then handoff.sh: this test image has no EFI-SYSTEM partition, so it reboots and says why
    assert.equal(states(o), ['install-started', 'installed', 'handoff'], o.stdout);
    assert.equal(o.events.at(-1)?.data, {
      method: 'reboot',
      reason: `disk: no EFI-SYSTEM partition on ${o.device}`,
    });
    assert.equal(
      { image: progress(o, 'plan')?.['image'], writer: progress(o, 'plan')?.['writer'] },
      { image: 'zstd', writer: c.writer },
    );
    assert.is(
      progress(o, 'download')?.['bytes'],
      c.writer === 'sparse' ? derived.mapped.size : derived.zst.size,
    );
    assert.is(progress(o, 'verify')?.['bytes'], derived.spans.bytes);
    const written = Number(progress(o, 'write')?.['bytes']);
    if (c.writer === 'dense') assert.ok(written >= derived.image.size, `dense wrote ${written}`);
    else assert.ok(written < derived.image.size / 2, `sparse wrote ${written} of ${derived.image.size}`);
    for (const p of ['download', 'write', 'verify']) assert.type(progress(o, p)?.['mbps'], 'number');
    assertImageOnDisk(o);
  });
}

test('a corrupted .zst: install-failed with the digest reason, the disk wiped', async () => {
  if (skip) return console.log(`    SKIPPED: ${skip}`);
  const o = await install({ image: 'zstd', writer: 'dense', prefill: 0, corrupt: true });
  assert.equal(states(o), ['install-started', 'install-failed'], o.stdout);
  assert.is(o.state, 'failed');
  assert.match(o.failureReason ?? '', /image digest mismatch/);
  assert.match(
    o.stdout,
    /railyard: install failed: image digest mismatch: .* railyard pinned [0-9a-f]{64} \(the disk was wiped\)/,
  );
  assert.ok(
    o.disk.subarray(0, 4 * MiB).every((b) => b === 0),
    'first 4 MiB zero',
  );
  assert.ok(
    o.disk.subarray(0, release.disk.length).every((b) => b === 0),
    'every byte of the image span is zero again',
  );
  assert.equal(o.oemFiles, {}, 'no filesystem left to mount');
});

test('a short read (the connection drops mid-stream): install-failed with the reason, the disk wiped', async () => {
  if (skip) return console.log(`    SKIPPED: ${skip}`);
  const o = await install({ image: 'zstd', writer: 'sparse', prefill: 0xff, cut: true });
  assert.equal(states(o), ['install-started', 'install-failed'], o.stdout);
  assert.match(o.failureReason ?? '', /download of \S+\.mapped\.zst failed \(curl exit 18: short read/);
  assert.match(o.stdout, /\(the disk was wiped\)/);
  assert.ok(
    o.disk.subarray(0, release.disk.length).every((b) => b === 0),
    'the image span reads as zeros (BLKZEROOUT first, then every span wiped)',
  );
  assert.equal(o.oemFiles, {}, 'no filesystem left to mount');
});

test('a write error: install-failed with the reason', async () => {
  if (skip) return console.log(`    SKIPPED: ${skip}`);
  const o = await install({ image: 'zstd', writer: 'dense', prefill: 0, readOnly: true });
  assert.equal(states(o), ['install-started', 'install-failed'], o.stdout);
  assert.match(o.failureReason ?? '', /writing the image to \/dev\/loop\d+ failed/);
});

test('profile image: bz2, a live system without zstd, a disk no larger than the image: the stock .bz2 path, reason reported', async () => {
  if (skip) return console.log(`    SKIPPED: ${skip}`);
  for (const [c, reason] of [
    [{ image: 'bz2', writer: 'dense', prefill: 0 }, /^profile image: bz2$/],
    [
      { image: 'zstd', writer: 'sparse', prefill: 0xff, noZstd: true },
      /lacks zstd: installing from the \.bz2/,
    ],
    [{ image: 'zstd', writer: 'dense', prefill: 0, diskMiB: 24 }, /less than 512 KiB beyond the image/],
  ] as const) {
    const o = await install(c);
    // then handoff.sh: this test image has no EFI-SYSTEM partition, so it reboots and says why
    assert.equal(states(o), ['install-started', 'installed', 'handoff'], o.stdout);
    assert.equal(o.events.at(-1)?.data, {
      method: 'reboot',
      reason: `disk: no EFI-SYSTEM partition on ${o.device}`,
    });
    assert.is(progress(o, 'plan')?.['image'], 'bz2');
    assert.match(String(progress(o, 'plan')?.['reason']), reason);
    assert.match(o.stdout, /railyard: flatcar-install -d \/dev\/loop\d+ -b http/);
    assertImageOnDisk(o);
  }
});

test.run();
