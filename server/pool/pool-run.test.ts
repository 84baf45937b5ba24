// As root: the generated pool.sh run on the host against a real loop device and a real
// `railyard serve` (curl, SQLite), the image writer replaced by a shim that partitions the
// disk like an image (EFI-SYSTEM, USR-A, an ext4 OEM). Shown: the first boot writes and
// marks the disk; a power cycle back into the pool finds it current and writes nothing; a
// claim checks the disk, writes OEM config.ign, drops the marker, reports installed and
// hands off through handoff.sh (the claim's kernel arguments in the OEM grub.cfg; here the
// reboot fallback: the shim disk has no bootable USR-A); a disk whose GPT changed while pooled (as a first
// boot's disk-uuid.service would) is refused at the claim.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeInstallerCpio } from '../installer/fixtures/decode.ts';
import { cleanupDevice, extractInstaller, rootSkipReason } from '../installer/fixtures/loop.ts';
import { writeExecutable, writeShims } from '../installer/fixtures/shims.ts';
import { publishRelease, tempDir } from '../testing/fixtures.ts';
import { curl, type Railyard, spawnRailyard } from '../testing/spawn-railyard.ts';
import { writePoolMachines } from './fixtures/machines.ts';

const skip = rootSkipReason(['losetup', 'partx', 'sgdisk', 'mkfs.ext4', 'blkid', 'jq', 'curl']);
const ADMIN = 'pool-run-admin-token-0123456789abcdef';
const A = '52:54:00:00:18:01';
const B = '52:54:00:00:18:02';
const work = tempDir('railyard-pool-run-');
const mnt = join(work.dir, 'mnt');
let dev = '';
let ry: Railyard;
const runs: ChildProcess[] = [];

const sh = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });
const admin = ['-H', `Authorization: Bearer ${ADMIN}`];
const writerCalls = () =>
  existsSync(join(work.dir, 'calls', 'write-image.log'))
    ? readFileSync(join(work.dir, 'calls', 'write-image.log'), 'utf8')
        .split('\n')
        .filter(Boolean).length
    : 0;

// Partitions the loop device like a Flatcar image (the real writer's job), prints its last line.
const WRITER = (calls: string, device: string) => `#!/bin/bash
set -e
echo write >> '${calls}/write-image.log'
partx -d '${device}' 2>/dev/null || true
sgdisk -Z '${device}' >/dev/null 2>&1
sgdisk -n1:2048:+4M -c1:EFI-SYSTEM -n2:0:+8M -c2:USR-A -n3:0:+16M -c3:OEM '${device}' >/dev/null
partx -a '${device}'
mkfs.ext4 -q -F -L OEM '${device}p3'
echo "railyard: image written to ${device} (zstd, dense)"
`;

test.before(async () => {
  if (skip) return;
  sh('truncate', '-s', '64M', join(work.dir, 'disk.img'));
  dev = sh('losetup', '-f', '--show', join(work.dir, 'disk.img')).trim();
  mkdirSync(mnt);
  const dataDir = join(work.dir, 'data');
  mkdirSync(join(dataDir, 'mirror'), { recursive: true });
  publishRelease(join(dataDir, 'mirror'), 'stable', 'amd64-usr', '9999.0.0');
  const machinesDir = writePoolMachines(work.dir, undefined, dev);
  ry = await spawnRailyard(work.dir, { dataDir, machinesDir, admin: { token: ADMIN } });
});

test.after(async () => {
  for (const r of runs) if (r.exitCode === null) r.kill('SIGKILL');
  await ry?.stop();
  if (dev) cleanupDevice(dev, mnt);
  work.cleanup();
});

/** PXE-boot `mac`: its pool installer, extracted, with the writer shim; pool.sh started. */
async function boot(mac: string, name: string) {
  const script = await curl('127.0.0.1', [
    '-A',
    'iPXE/1.21.1',
    `${ry.url}/ipxe?mac=${mac.replaceAll(':', '-')}&platform=pcbios`,
  ]);
  const url = /initrd --name railyard-installer\.cpio\.gz (\S+)/.exec(script.text)?.[1] ?? '';
  const cpio = (await curl('127.0.0.1', [url])).body;
  assert.ok(decodeInstallerCpio(cpio).files.has('/opt/railyard/pool.sh'));
  const root = join(work.dir, name);
  mkdirSync(root);
  const opt = extractInstaller(cpio, root);
  const shims = writeShims(work.dir);
  writeExecutable(join(opt, 'write-image.sh'), WRITER(shims.log, dev));
  let output = '';
  const child = spawn('bash', [join(opt, 'pool.sh')], {
    env: { ...process.env, PATH: `${shims.bin}:${process.env['PATH']}`, RAILYARD_POOL_WAIT: '5' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const s of [child.stdout, child.stderr]) s?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  runs.push(child);
  return { child, output: () => output, exited, opt };
}

async function until(what: string, check: () => Promise<boolean>, output: () => string, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const member = async (mac: string) =>
  (
    JSON.parse((await curl('127.0.0.1', [...admin, `${ry.url}/api/v1/pool`])).text) as {
      members: Array<{ mac: string; state: string; attemptId: number }>;
    }
  ).members.find((m) => m.mac === mac);
const lastEvent = async (mac: string, type: string) =>
  (
    JSON.parse((await curl('127.0.0.1', [...admin, `${ry.url}/api/v1/machines/${mac}`])).text) as {
      events: Array<{ type: string; data: Record<string, unknown> }>;
    }
  ).events.findLast((e) => e.type === type);
const claim = (mac: string) =>
  curl('127.0.0.1', [
    ...admin,
    '-X',
    'POST',
    '-H',
    'Content-Type: application/json',
    '--data-binary',
    JSON.stringify({ profile: 'web', mac, metadata: { role: 'run' } }),
    `${ry.url}/api/v1/pool/claim`,
  ]);
const readOem = (file: string) => {
  sh('mount', '-o', 'ro', `${dev}p3`, mnt);
  try {
    return existsSync(join(mnt, file)) ? readFileSync(join(mnt, file), 'utf8') : undefined;
  } finally {
    sh('umount', mnt);
  }
};

test('pool.sh: write and mark, a power cycle finds the disk current, the claim writes config.ign and hands off', async () => {
  if (skip) return console.log(`    skipped: ${skip}`);
  const first = await boot(A, 'run1');
  await until('pooled', async () => (await member(A))?.state === 'pooled', first.output);
  assert.is(writerCalls(), 1);
  assert.is((await lastEvent(A, 'pooled'))?.data['rewritten'], true);
  assert.match(readOem('railyard-pool') ?? '', /^version=9999\.0\.0 image=[0-9a-f]{64} table=[0-9a-f]{64}$/);
  first.child.kill('SIGKILL'); // power cycle: back through PXE into the pool
  const second = await boot(A, 'run2');
  await until(
    'pooled again',
    async () => (await lastEvent(A, 'pooled'))?.data['rewritten'] === false,
    second.output,
  );
  assert.is(writerCalls(), 1, 'the disk held the current release: nothing written');
  await new Promise((r) => setTimeout(r, 500)); // into its long-poll
  const t0 = Date.now();
  assert.is((await claim(A)).status, 201);
  await second.exited;
  const seconds = (Date.now() - t0) / 1000;
  console.log(`    claim → hand-off (host, loop device): ${seconds.toFixed(2)} s`);
  assert.match(second.output(), 'railyard: pool: claimed for profile web');
  console.log(`    ${/disk checked and config.ign written in \S+/.exec(second.output())?.[0]}`);
  const config = JSON.parse(readOem('config.ign') ?? '{}') as Record<string, unknown>;
  assert.match(JSON.stringify(config), 'data:,run-flatcar-525400001801');
  assert.is(
    readOem('railyard-pool'),
    undefined,
    'the marker is gone: a claimed disk is never taken for a pooled one',
  );
  // handoff.sh prepare: the claim's kernel arguments in the OEM grub.cfg, as for an install
  assert.is(readOem('grub.cfg'), 'set linux_append="$linux_append flatcar.autologin"\n');
  assert.match(readFileSync(join(work.dir, 'calls', 'systemctl.log'), 'utf8'), 'reboot');
  assert.ok((await lastEvent(A, 'installed')) !== undefined, 'installed reported');
  // handoff.sh run: the shim disk's USR-A has no Flatcar USR type or priority, so it reboots and says why
  const handoff = await lastEvent(A, 'handoff');
  assert.is(handoff?.data['method'], 'reboot');
  assert.is(handoff?.data['reason'], 'gpt-slot: no bootable USR partition (gptprio)');
});

test('pool.sh: a disk whose partition table changed while pooled is refused at the claim', async () => {
  if (skip) return console.log(`    skipped: ${skip}`);
  const run = await boot(B, 'run3');
  await until('pooled', async () => (await member(B))?.state === 'pooled', run.output);
  assert.is(writerCalls(), 2, 'the claimed disk of A was written again for B');
  sh('sgdisk', '-G', dev); // what disk-uuid.service does on a first boot
  assert.is((await claim(B)).status, 201);
  await run.exited;
  const failed = await lastEvent(B, 'install-failed');
  assert.match(String(failed?.data['reason']), 'no longer holds what the pool wrote');
});

test.run();
