import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMachines } from '../catalog/load.ts';
import { ConfigError, InvalidRequestError } from '../errors.ts';
import { canonicalMac, type Mac } from '../machines/identity.ts';
import type { Profile } from '../machines/model.ts';
import { assertGolden } from '../testing/golden.ts';
import { assertValidIgnition } from '../testing/ignition-validate.ts';
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
import { reportUrl } from './script.ts';

const EXAMPLES = new URL('../../examples', import.meta.url).pathname;
const profiles = loadMachines(EXAMPLES).profiles;
const profile = (id: string) => profiles.get(id) as Profile;
const REPORT = reportUrl(PUBLIC_URL, MAC, ATTEMPT_ID);
const input = (id: string, extra: Partial<InstallerInput> = {}): InstallerInput => ({
  profile: profile(id),
  view: fixedView({ profile: id }),
  version: '4230.2.3',
  attemptId: ATTEMPT_ID,
  token: TOKEN,
  firstBootToken: FIRST_BOOT_TOKEN,
  reportUrl: REPORT,
  handoff: KEXEC_PLAN,
  ...extra,
});
interface TargetShape {
  ignition: { version: string };
  storage: { files: Array<{ contents: { source: string } }> };
  systemd?: { units: Array<{ name: string; contents: string }> };
}
const dir = mkdtempSync(join(tmpdir(), 'railyard-ign-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

for (const id of ['flatcar-stable', 'flatcar-debug', 'flatcar-updates']) {
  test(`golden installer Ignition for examples/profiles/${id}.yaml (UPDATE_GOLDEN=1 regenerates)`, () => {
    const golden = new URL(`./fixtures/${id}.golden.json`, import.meta.url).pathname;
    const text = `${JSON.stringify(buildInstallerIgnition(input(id)), null, 2)}\n`;
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(golden, text);
    assert.ok(existsSync(golden), 'no golden file: run with UPDATE_GOLDEN=1');
    assert.fixture(text, readFileSync(golden, 'utf8'));
    const files = decodeInstaller(JSON.parse(text)).files;
    assertGolden(`installer/${id}.handoff.sh`, files.get('/opt/railyard/handoff.sh')?.text ?? '');
  });

  test(`real ignition-validate accepts the installer and target Ignition of ${id} (and its golden file)`, () => {
    const config = buildInstallerIgnition(input(id));
    assertValidIgnition(config, `${id} installer config`);
    assertValidIgnition(
      decodeInstaller(config).files.get('/opt/railyard/target.ign')?.text,
      `${id} target.ign`,
    );
    const golden = new URL(`./fixtures/${id}.golden.json`, import.meta.url).pathname;
    assertValidIgnition(readFileSync(golden, 'utf8'), `${id}.golden.json`);
  });
}

test('real ignition-validate accepts what every shipped profile renders (examples/, contrib/lab/)', () => {
  for (const dir of [EXAMPLES, new URL('../../contrib/lab/machines', import.meta.url).pathname]) {
    for (const [id, p] of loadMachines(dir).profiles) {
      const config = buildInstallerIgnition({ ...input('flatcar-stable'), profile: p });
      assertValidIgnition(config, `${dir} ${id} installer config`);
      assertValidIgnition(
        decodeInstaller(config).files.get('/opt/railyard/target.ign')?.text,
        `${dir} ${id} target.ign`,
      );
    }
  }
});

test('write-image.sh and handoff.sh hold nothing of one attempt: equal bytes for two machines, encoded once', () => {
  const a = input('flatcar-stable');
  const other = {
    ...a,
    view: { ...a.view, mac: canonicalMac('52:54:00:00:00:02') },
    attemptId: 99,
    token: 'T'.repeat(43),
    firstBootToken: 'F'.repeat(43),
    reportUrl: 'http://10.0.0.5:8080/api/v1/machines/52:54:00:00:00:02/attempts/99/events',
  };
  const [one, two] = [a, other].map((i) => buildInstallerIgnition(i));
  const raw = (config: Record<string, unknown>, path: string) =>
    (config['storage'] as { files: Array<{ path: string; contents: unknown }> }).files.find(
      (f) => f.path === path,
    )?.contents;
  for (const path of ['/opt/railyard/write-image.sh', '/opt/railyard/handoff.sh']) {
    const contents = raw(one as Record<string, unknown>, path);
    assert.equal(contents, raw(two as Record<string, unknown>, path), path);
    assert.is((contents as { compression?: string }).compression, 'gzip', `${path} is shipped gzip'd`);
  }
  const [f1, f2] = [one, two].map((c) => decodeInstaller(JSON.parse(JSON.stringify(c))).files);
  for (const [path, f] of f1 ?? []) {
    if (
      path === '/opt/railyard/attempt.env' ||
      path === '/opt/railyard/install.sh' ||
      path === '/opt/railyard/target.ign'
    )
      continue;
    assert.not.match(f.text, a.token, `${path} holds no token`);
    assert.not.match(f.text, a.view.mac, `${path} names no machine`);
  }
  const env = f2?.get('/opt/railyard/attempt.env')?.text ?? '';
  assert.match(env, `TOKEN='${'T'.repeat(43)}'`);
  assert.match(env, "REPORT_URL='http://10.0.0.5:8080/api/v1/machines/52:54:00:00:00:02/attempts/99/events'");
});

test('structure: Ignition 3.3.0, files with decimal modes, the install unit', () => {
  const config = buildInstallerIgnition(input('flatcar-stable'));
  assert.equal(config['ignition'], { version: '3.3.0' });
  const { files, units } = decodeInstaller(JSON.parse(JSON.stringify(config)));
  assert.equal(
    [...files.keys()],
    [
      '/opt/railyard/install.sh',
      '/opt/railyard/attempt.env',
      '/opt/railyard/write-image.sh',
      '/opt/railyard/handoff.sh',
      '/opt/railyard/target.ign',
    ],
  );
  assert.is(files.get('/opt/railyard/install.sh')?.mode, 493);
  assert.is(files.get('/opt/railyard/attempt.env')?.mode, 384, 'the token file is 0600');
  assert.is(files.get('/opt/railyard/write-image.sh')?.mode, 493);
  assert.is(files.get('/opt/railyard/handoff.sh')?.mode, 493);
  assert.is(files.get('/opt/railyard/target.ign')?.mode, 384);
  assert.equal(
    units.map((u) => [u.name, u.enabled]),
    [['railyard-install.service', true]],
  );
  const unit = units[0]?.contents ?? '';
  for (const line of [
    'Type=oneshot',
    'After=network-online.target',
    'Wants=network-online.target',
    'ExecStart=/opt/railyard/install.sh',
  ]) {
    assert.ok(unit.split('\n').includes(line), line);
  }
});

const writer = (config: Record<string, unknown>) =>
  decodeInstaller(config).files.get('/opt/railyard/write-image.sh')?.text ?? '';

test('the script: flatcar-install arguments (in write-image.sh), reports, the hand-off', () => {
  const config = buildInstallerIgnition(input('flatcar-stable'));
  const stable = decodeInstaller(config).files.get('/opt/railyard/install.sh')?.text ?? '';
  assert.match(stable, '"$DIR/write-image.sh" 2>&1 | tee "$LOG"');
  assert.match(
    writer(config),
    `BZ2_ARGS=(-s -b 'http://10.0.0.5:8080/mirror/stable/amd64-usr' -V 4230.2.3 "\${IGN_ARGS[@]}")`,
  );
  assert.match(writer(config), '[[ -e $DIR/target.ign ]] && IGN_ARGS=(-i "$DIR/target.ign")');
  assert.match(writer(config), "FORMAT='bz2'");
  assert.not.match(writer(config), '-k "$DIR/keyring.asc"');
  assert.match(
    stable,
    `REPORT_URL='http://10.0.0.5:8080/api/v1/machines/52:54:00:00:00:01/attempts/7/events'`,
  );
  assert.match(stable, `TOKEN='${TOKEN}'`);
  assert.not.match(stable, FIRST_BOOT_TOKEN, 'the installer script holds only the install token');
  assert.match(stable, /set -uo pipefail/);
  assert.match(stable, /"\$DIR\/handoff.sh" prepare 2>&1 \| tee -a "\$LOG"\n/);
  assert.match(stable, /exec "\$DIR\/handoff.sh" run "\$status"\n$/);
  const debug = writer(buildInstallerIgnition(input('flatcar-debug')));
  assert.match(debug, `BZ2_ARGS=(-d '/dev/sda' -b `);
  assert.match(debug, `DISK='/dev/sda'`);
});

test('the target Ignition: rendered per machine, first-boot unit when phoneHome', () => {
  const view = fixedView({ hostname: 'we"ird\\host' });
  const files = decodeInstaller(buildInstallerIgnition({ ...input('flatcar-stable'), view })).files;
  const target = JSON.parse(files.get('/opt/railyard/target.ign')?.text ?? '') as TargetShape;
  assert.is(target.ignition.version, '3.3.0');
  assert.is(target.storage.files[0]?.contents.source, 'data:,we"ird\\host');
  assert.equal(
    target.systemd?.units.map((u) => u.name),
    ['railyard-first-boot.service'],
  );
  const unit = target.systemd?.units[0] ?? { contents: '' };
  assert.match(unit.contents, `Bearer ${FIRST_BOOT_TOKEN}`);
  assert.not.match(unit.contents, TOKEN, 'the installed system holds only the one-time first-boot token');
  assert.match(unit.contents, '/attempts/7/events');
  const off = decodeInstaller(
    buildInstallerIgnition(
      input('flatcar-stable', { profile: { ...profile('flatcar-stable'), phoneHome: false } }),
    ),
  ).files;
  assert.is(JSON.parse(off.get('/opt/railyard/target.ign')?.text ?? '')['systemd'], undefined);
});

test('kernelArguments move from the target Ignition into handoff.sh (the OEM grub.cfg)', () => {
  const files = decodeInstaller(buildInstallerIgnition(input('flatcar-debug'))).files;
  const target = JSON.parse(files.get('/opt/railyard/target.ign')?.text ?? '') as Record<string, unknown>;
  assert.is(target['kernelArguments'], undefined, 'removed from the rendered config');
  assert.match(
    files.get('/opt/railyard/handoff.sh')?.text ?? '',
    "KERNEL_ARGS=('flatcar.autologin=ttyS0' 'systemd.log_level=debug')",
  );
  const stable = decodeInstaller(buildInstallerIgnition(input('flatcar-stable'))).files;
  assert.match(stable.get('/opt/railyard/handoff.sh')?.text ?? '', 'KERNEL_ARGS=()');
});

test('the hand-off plan reaches handoff.sh: method, reason, kexec -i, SMBIOS deny entries', () => {
  const plan = {
    method: 'reboot' as const,
    reason: "denied: installer.kexecDeny[1] matches serial=SN'1",
    kexecChecks: false,
    dmiDeny: [{ index: 0, manufacturer: "Acme's", product: '' }],
  };
  const text =
    decodeInstaller(buildInstallerIgnition(input('flatcar-debug', { handoff: plan }))).files.get(
      '/opt/railyard/handoff.sh',
    )?.text ?? '';
  assert.match(text, 'METHOD=reboot ');
  assert.match(text, `METHOD_REASON='denied: installer.kexecDeny[1] matches serial=SN'\\''1'`);
  assert.match(text, 'KEXEC_ARGS=(-i)');
  assert.match(text, `DMI_DENY=(0 'Acme'\\''s' '')`);
  assert.match(text, "INSTALL_DISK='/dev/sda'");
  const smallest = decodeInstaller(buildInstallerIgnition(input('flatcar-stable'))).files;
  assert.match(smallest.get('/opt/railyard/handoff.sh')?.text ?? '', "INSTALL_DISK=''");
});

test('a keyring adds keyring.asc and -k', () => {
  const files = decodeInstaller(
    buildInstallerIgnition(input('flatcar-stable', { keyring: 'KEY TEXT\n' })),
  ).files;
  assert.is(files.get('/opt/railyard/keyring.asc')?.text, 'KEY TEXT\n');
  assert.match(files.get('/opt/railyard/write-image.sh')?.text ?? '', `BZ2_ARGS+=(-k "$DIR/keyring.asc")`);
});

test('bash -n and shellcheck pass on the generated scripts', () => {
  for (const [name, extra] of [
    ['plain', {}],
    ['keyring', { keyring: 'K' }],
  ] as const) {
    for (const id of ['flatcar-stable', 'flatcar-debug', 'flatcar-updates']) {
      for (const script of ['install.sh', 'write-image.sh']) {
        const file = join(dir, `${id}-${name}-${script}`);
        const files = decodeInstaller(buildInstallerIgnition(input(id, extra))).files;
        writeFileSync(file, files.get(`/opt/railyard/${script}`)?.text ?? '');
        execFileSync('bash', ['-n', file]);
        execFileSync('shellcheck', ['--severity=style', file]);
      }
    }
  }
  for (const id of ['flatcar-stable', 'flatcar-debug']) {
    const file = join(dir, `${id}-handoff.sh`);
    writeFileSync(
      file,
      decodeInstaller(buildInstallerIgnition(input(id))).files.get('/opt/railyard/handoff.sh')?.text ?? '',
    );
    execFileSync('bash', ['-n', file]);
    execFileSync('shellcheck', ['--severity=style', file]);
  }
});

test('unsafe values are refused', () => {
  const bad: Array<Partial<InstallerInput>> = [
    { version: 'current' },
    { version: '1.2.3; reboot' },
    { token: 'x' },
    { reportUrl: "http://x/'$(reboot)'" },
    { reportUrl: 'http://x/a b' },
    { view: fixedView({ mirrorBase: 'http://x/$(id)' }) },
    { view: fixedView({ mac: 'not-a-mac' as Mac }) },
    { profile: { ...profile('flatcar-stable'), installDisk: '/dev/sda; reboot' } },
    { profile: { ...profile('flatcar-stable'), installDisk: '/dev/../etc/passwd' } },
    { handoff: { method: 'reboot', reason: 'profile\nrm -rf /', kexecChecks: true, dmiDeny: [] } },
    {
      handoff: {
        method: 'kexec',
        reason: undefined,
        kexecChecks: true,
        dmiDeny: [{ index: 0, manufacturer: 'a\nb', product: '' }],
      },
    },
  ];
  for (const extra of bad) {
    assert.throws(
      () => buildInstallerIgnition(input('flatcar-stable', extra)),
      (e: unknown) => e instanceof InvalidRequestError,
      JSON.stringify(extra),
    );
  }
});

test('a template naming an unknown variable is a ConfigError', () => {
  const p = {
    ...profile('flatcar-stable'),
    ignitionTemplate: { ignition: { version: '3.3.0' }, x: ['{{nope}}'] },
  };
  assert.throws(
    () => buildInstallerIgnition(input('flatcar-stable', { profile: p })),
    (e: unknown) => e instanceof ConfigError && /x\[0\]: unknown variables nope/.test(String(e)),
  );
});

test.run();
