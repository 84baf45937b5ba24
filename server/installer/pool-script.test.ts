import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMachines } from '../catalog/load.ts';
import { InvalidRequestError } from '../errors.ts';
import type { Profile } from '../machines/model.ts';
import { assertGolden } from '../testing/golden.ts';
import { decodeInstaller } from './fixtures/decode.ts';
import {
  ATTEMPT_ID,
  FIRST_BOOT_TOKEN,
  fixedView,
  KEXEC_PLAN,
  MAC,
  PUBLIC_URL,
  TOKEN,
} from './fixtures/views.ts';
import { buildInstallerIgnition, type InstallerInput } from './ignition.ts';
import type { ImagePlan } from './image-plan.ts';
import { claimUrl, reportUrl } from './script.ts';

const profile = loadMachines(new URL('../../examples', import.meta.url).pathname).profiles.get(
  'flatcar-stable',
) as Profile;
const ZSTD: ImagePlan = {
  format: 'zstd',
  writer: 'dense',
  reason: 'derived image ready',
  zstd: {
    url: `${PUBLIC_URL}/mirror/stable/amd64-usr/4230.2.3/flatcar_production_image.bin.zst`,
    sha256: 'e'.repeat(64),
    size: 1000,
    mappedUrl: `${PUBLIC_URL}/mirror/stable/amd64-usr/4230.2.3/flatcar_production_image.bin.mapped.zst`,
    mappedSha256: 'f'.repeat(64),
    mappedSize: 900,
    spansUrl: `${PUBLIC_URL}/mirror/stable/amd64-usr/4230.2.3/flatcar_production_image.bin.spans`,
    spansSha256: '1'.repeat(64),
    spansDataSha256: '2'.repeat(64),
    spansBytes: 4096,
    rawSha256: '3'.repeat(64),
    rawSize: 65536,
  },
} as ImagePlan;
const input = (extra: Partial<InstallerInput> = {}): InstallerInput => ({
  profile: { ...profile, installDisk: '/dev/vda' },
  view: fixedView({ profile: 'flatcar-stable', installDisk: '/dev/vda' }),
  version: '4230.2.3',
  attemptId: ATTEMPT_ID,
  token: TOKEN,
  firstBootToken: FIRST_BOOT_TOKEN,
  reportUrl: reportUrl(PUBLIC_URL, MAC, ATTEMPT_ID),
  image: ZSTD,
  handoff: KEXEC_PLAN,
  pool: { claimUrl: claimUrl(PUBLIC_URL, MAC) },
  ...extra,
});
const dir = mkdtempSync(join(tmpdir(), 'railyard-pool-script-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a pool installer: pool.sh, write-image.sh and handoff.sh, no target.ign, the unit runs pool.sh', () => {
  const { files, units } = decodeInstaller(buildInstallerIgnition(input()));
  assert.equal(
    [...files.keys()],
    [
      '/opt/railyard/pool.sh',
      '/opt/railyard/attempt.env',
      '/opt/railyard/write-image.sh',
      '/opt/railyard/handoff.sh',
    ],
  );
  // the claim brings the kernel arguments (pool.sh writes $DIR/kernel-args)
  assert.match(files.get('/opt/railyard/handoff.sh')?.text ?? '', 'KERNEL_ARGS=()');
  assert.is(files.get('/opt/railyard/pool.sh')?.mode, 0o755);
  assert.match(units[0]?.contents ?? '', 'ExecStart=/opt/railyard/pool.sh');
});

test('golden pool.sh (UPDATE_GOLDEN=1 regenerates): the zstd image id, the claim URL', () => {
  const text =
    decodeInstaller(buildInstallerIgnition(input())).files.get('/opt/railyard/pool.sh')?.text ?? '';
  assertGolden('installer/pool.sh', text);
  assert.match(text, `IMAGE_ID='${'e'.repeat(64)}'`);
  assert.match(text, `CLAIM_URL='${PUBLIC_URL}/api/v1/machines/${MAC}/claim'`);
  const bz2 = decodeInstaller(buildInstallerIgnition(input({ image: undefined }))).files.get(
    '/opt/railyard/pool.sh',
  );
  assert.not.match(bz2?.text ?? '', 'e'.repeat(64), 'the bz2 path names its own image id');
});

test('bash -n and shellcheck pass on pool.sh', () => {
  const file = join(dir, 'pool.sh');
  writeFileSync(
    file,
    decodeInstaller(buildInstallerIgnition(input())).files.get('/opt/railyard/pool.sh')?.text ?? '',
  );
  execFileSync('bash', ['-n', file]);
  execFileSync('shellcheck', ['--severity=style', file]);
});

test('an unsafe claim URL is refused', () => {
  for (const url of ["http://x/'$(reboot)'", 'http://x/a b', 'file:///etc/passwd'])
    assert.throws(
      () => buildInstallerIgnition(input({ pool: { claimUrl: url } })),
      (e: unknown) => e instanceof InvalidRequestError,
      url,
    );
});

test.run();
