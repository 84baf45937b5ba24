// The findings of issue 11, replayed against a real `railyard serve` with curl: the victim
// machines talk from 127.0.0.1, the attacker from 127.0.0.2 (another host on the boot LAN,
// as far as railyard can tell). Each test names the finding and checks the fix.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeInstallerCpio } from './installer/fixtures/decode.ts';
import { DB_SECRET, writeAttemptMachines } from './testing/attempt-machines.ts';
import { publishRelease, tempDir } from './testing/fixtures.ts';
import { curl, type Railyard, spawnRailyard } from './testing/spawn-railyard.ts';

const VICTIM = '127.0.0.1';
const ATTACKER = '127.0.0.2';
const ADMIN = 'attacker-test-admin-token-0123456789';
const IPXE_UA = ['-A', 'iPXE/1.21.1'];

const work = tempDir('railyard-attacker-');
let ry: Railyard;

test.before(async () => {
  const dataDir = join(work.dir, 'data');
  mkdirSync(join(dataDir, 'mirror'), { recursive: true });
  publishRelease(join(dataDir, 'mirror'));
  ry = await spawnRailyard(work.dir, {
    dataDir,
    machinesDir: writeAttemptMachines(work.dir),
    admin: { token: ADMIN },
  });
});

test.after(async () => {
  await ry?.stop();
  work.cleanup();
});

const hyphen = (mac: string) => mac.replaceAll(':', '-');
const ipxe = (from: string, mac: string, query = '') =>
  curl(from, [...IPXE_UA, `${ry.url}/ipxe?mac=${hyphen(mac)}&platform=pcbios${query}`]);
const get = (from: string, path: string, args: string[] = []) => curl(from, [...args, `${ry.url}${path}`]);
const post = (from: string, path: string, token: string | undefined, body: string) =>
  curl(from, [
    '-X',
    'POST',
    '-H',
    'Content-Type: application/json',
    ...(token ? ['-H', `Authorization: Bearer ${token}`] : []),
    '--data-binary',
    body,
    `${ry.url}${path}`,
  ]);
const installerPath = (script: string) =>
  (/initrd --name railyard-installer\.cpio\.gz (\S+)/.exec(script)?.[1] ?? '').replace(ry.url, '');

async function machine(mac: string) {
  const res = await get(VICTIM, `/api/v1/machines/${mac}`, ['-H', `Authorization: Bearer ${ADMIN}`]);
  return JSON.parse(res.text) as {
    machine: { state: string; failures: number; facts: Record<string, string> };
    attempts: Array<{ id: number; state: string; profile: string }>;
  };
}

/** The victim's own install: script, installer, reports, disk boot, first boot. */
async function provision(mac: string) {
  const script = (await ipxe(VICTIM, mac)).text;
  const path = installerPath(script);
  const cpio = await get(VICTIM, path);
  assert.is(cpio.status, 200);
  const files = decodeInstallerCpio(cpio.body).files;
  const install = /TOKEN='([^']+)'/.exec(files.get('/opt/railyard/install.sh')?.text ?? '')?.[1] ?? '';
  const firstBoot =
    /Bearer ([A-Za-z0-9_-]{43})/.exec(files.get('/opt/railyard/target.ign')?.text ?? '')?.[1] ?? '';
  const reports =
    /REPORT_URL='[^']*(\/api\/v1\/[^']+)'/.exec(files.get('/opt/railyard/install.sh')?.text ?? '')?.[1] ?? '';
  assert.is((await post(VICTIM, reports, install, '{"type":"install-started"}')).status, 201);
  assert.is((await post(VICTIM, reports, install, '{"type":"installed"}')).status, 201);
  assert.match((await ipxe(VICTIM, mac)).text, 'sanboot');
  assert.is((await post(VICTIM, reports, firstBoot, '{"type":"first-boot"}')).status, 201);
  assert.is((await machine(mac)).machine.state, 'provisioned');
  return { install, firstBoot, reports, path };
}

test('finding: anyone could read any machine’s installer (and its token): now only the client that got the script, while installing', async () => {
  const mac = '52:54:00:a1:00:01';
  const path = installerPath((await ipxe(VICTIM, mac)).text);
  const stolen = await get(ATTACKER, path);
  assert.is(stolen.status, 403, stolen.text);
  assert.match(stolen.text, /served only to 127\.0\.0\.1, not 127\.0\.0\.2/);
  assert.is((await get(ATTACKER, `/installer/${hyphen(mac)}.cpio.gz`)).status, 403);
  assert.is((await get(VICTIM, path)).status, 200);
});

test('finding: a leaked token moved a provisioned machine back to installing (and reinstalled it): now 409, nothing changes', async () => {
  const mac = '52:54:00:a1:00:02';
  const leaked = await provision(mac);
  const before = await machine(mac);
  for (const body of [
    '{"type":"install-started"}',
    '{"type":"installed"}',
    '{"type":"progress","bytes":1}',
  ]) {
    const res = await post(ATTACKER, leaked.reports, leaked.install, body);
    assert.is(res.status, 409, body);
    assert.match(res.text, /attempt \d+ is closed \(provisioned\)/);
  }
  const legacy = await post(
    ATTACKER,
    `/api/v1/machines/${mac}/events`,
    leaked.install,
    '{"type":"install-started"}',
  );
  assert.is(legacy.status, 401, 'no open attempt: the token is worth nothing');
  assert.is((await post(ATTACKER, leaked.reports, leaked.firstBoot, '{"type":"first-boot"}')).status, 409);
  assert.equal(await machine(mac), before);
  const next = await ipxe(VICTIM, mac);
  assert.match(next.headers, /X-Railyard-Decision: local-boot/i);
  assert.match(next.text, 'sanboot --no-describe --drive 0x80');
  assert.is((await get(ATTACKER, leaked.path)).status, 404, 'its installer is gone for good');
});

test('finding: five forged install-failed put a machine on the failure screen: now 409 each, not one counted', async () => {
  const mac = '52:54:00:a1:00:03';
  const leaked = await provision(mac);
  for (let i = 0; i < 5; i++) {
    const res = await post(
      ATTACKER,
      leaked.reports,
      leaked.install,
      '{"type":"install-failed","exitCode":1,"output":"x"}',
    );
    assert.is(res.status, 409);
  }
  const after = await machine(mac);
  assert.equal([after.machine.state, after.machine.failures], ['provisioned', 0]);
  assert.match((await ipxe(VICTIM, mac)).text, 'sanboot');
});

test('finding: spoofed facts (role=db) changed what the victim installs: now the installer is its own attempt’s', async () => {
  const mac = '52:54:00:a1:00:04';
  const mine = installerPath((await ipxe(VICTIM, mac)).text);
  const spoofed = await ipxe(ATTACKER, mac, '&role=db');
  assert.match(spoofed.text, 'profile db');
  assert.is((await get(VICTIM, mine)).status, 404, "the victim's attempt was superseded, not rewritten");
  const theirs = installerPath(spoofed.text);
  assert.is((await get(VICTIM, theirs)).status, 403, "the attacker's attempt is bound to the attacker");
  // The victim's iPXE asks again after the failed download: its own facts, its own attempt.
  const again = installerPath((await ipxe(VICTIM, mac)).text);
  const files = decodeInstallerCpio((await get(VICTIM, again)).body).files;
  // The disk and flatcar-install's arguments are in the image writer, beside install.sh.
  assert.match(files.get('/opt/railyard/write-image.sh')?.text ?? '', 'BZ2_ARGS=(-s ');
  assert.match(files.get('/opt/railyard/write-image.sh')?.text ?? '', "DISK='smallest'");
  for (const f of ['install.sh', 'write-image.sh'])
    assert.not.match(files.get(`/opt/railyard/${f}`)?.text ?? '', '/dev/sdb');
  assert.not.match(files.get('/opt/railyard/target.ign')?.text ?? '', DB_SECRET);
  const m = await machine(mac);
  assert.equal(m.machine.facts, { mac, platform: 'pcbios' }, 'facts are per boot: role=db is gone');
  assert.equal(
    m.attempts.map((a) => [a.state, a.profile]),
    [
      ['served', 'std'],
      ['superseded', 'db'],
      ['superseded', 'std'],
    ],
  );
});

test('finding: spoofed facts on a provisioned machine: disk boot for the attacker, no attempt, no reinstall', async () => {
  const mac = '52:54:00:a1:00:05';
  await provision(mac);
  for (const q of ['&role=db', '&role=kiosk&hostname=evil', '']) {
    const res = await ipxe(ATTACKER, mac, q);
    assert.match(res.headers, /X-Railyard-Decision: local-boot/i, q);
    assert.not.match(res.text, /TOKEN|Bearer/);
  }
  const m = await machine(mac);
  assert.equal([m.machine.state, m.attempts.length], ['provisioned', 1]);
});

test('finding: GET /api/v1/machines listed every MAC without a login: now 401 (and /ui asks for a sign-in); installer reports need none', async () => {
  const mac = '52:54:00:a1:00:07';
  const path = installerPath((await ipxe(VICTIM, mac)).text);
  const files = decodeInstallerCpio((await get(VICTIM, path)).body).files;
  const script = files.get('/opt/railyard/install.sh')?.text ?? '';
  const install = /TOKEN='([^']+)'/.exec(script)?.[1] ?? '';
  const reports = /REPORT_URL='[^']*(\/api\/v1\/[^']+)'/.exec(script)?.[1] ?? '';
  const list = await get(ATTACKER, '/api/v1/machines');
  assert.is(list.status, 401, list.text);
  assert.not.match(list.text, mac);
  assert.is((await get(ATTACKER, `/api/v1/machines/${mac}`)).status, 401);
  assert.is((await get(ATTACKER, '/ui')).status, 303);
  // Forged reports (wrong attempt tokens) are refused as reports; they are not sign-ins and
  // do not lock anyone out of the admin API. The machine's own report needs no sign-in.
  for (let i = 0; i < 6; i++)
    assert.is((await post(ATTACKER, `/api/v1/machines/${mac}/events`, 'B'.repeat(43), '{}')).status, 401);
  const admin = await get(ATTACKER, '/api/v1/machines', ['-H', `Authorization: Bearer ${ADMIN}`]);
  assert.is(admin.status, 200, admin.text);
  assert.match(admin.text, mac);
  assert.is((await post(VICTIM, reports, install, '{"type":"install-started"}')).status, 201);
});

test('the hand-off report: only the machine’s own open attempt, with its install token, once, after installed', async () => {
  const [a, b] = ['52:54:00:a1:00:08', '52:54:00:a1:00:09'];
  const installerOf = async (mac: string) => {
    const files = decodeInstallerCpio(
      (await get(VICTIM, installerPath((await ipxe(VICTIM, mac)).text))).body,
    ).files;
    const field = (file: string, re: RegExp) => re.exec(files.get(file)?.text ?? '')?.[1] ?? '';
    // handoff.sh (the same for every machine) reports with what attempt.env beside it says
    assert.match(files.get('/opt/railyard/handoff.sh')?.text ?? '', '. "$DIR/attempt.env"');
    const handoff = {
      token: field('/opt/railyard/attempt.env', /TOKEN='([^']+)'/),
      reports: field('/opt/railyard/attempt.env', /REPORT_URL='[^']*(\/api\/v1\/[^']+)'/),
    };
    assert.equal(
      handoff,
      {
        token: field('/opt/railyard/install.sh', /TOKEN='([^']+)'/),
        reports: field('/opt/railyard/install.sh', /REPORT_URL='[^']*(\/api\/v1\/[^']+)'/),
      },
      'handoff.sh reports to its attempt with the install token (attempt.env)',
    );
    const firstBoot = field('/opt/railyard/target.ign', /Bearer ([A-Za-z0-9_-]{43})/);
    return { ...handoff, firstBoot };
  };
  const kexec = '{"type":"handoff","method":"kexec"}';
  const ours = await installerOf(a);
  const theirs = await installerOf(b);
  const early = await post(VICTIM, ours.reports, ours.token, kexec);
  assert.is(early.status, 409, 'not before installed');
  assert.match(early.text, /handoff does not fit attempt \d+: it is served/);
  assert.is((await post(VICTIM, ours.reports, ours.token, '{"type":"installed"}')).status, 201);
  assert.is((await post(VICTIM, theirs.reports, theirs.token, '{"type":"installed"}')).status, 201);
  // Another machine's install token, the first-boot token, no token: refused, nothing recorded.
  assert.is((await post(ATTACKER, ours.reports, theirs.token, kexec)).status, 401);
  assert.is((await post(ATTACKER, `/api/v1/machines/${a}/events`, theirs.token, kexec)).status, 401);
  assert.is((await post(ATTACKER, ours.reports, ours.firstBoot, kexec)).status, 401);
  assert.is((await post(ATTACKER, ours.reports, undefined, kexec)).status, 401);
  const bad = await post(
    VICTIM,
    ours.reports,
    ours.token,
    '{"type":"handoff","method":"reboot","reason":"x"}',
  );
  assert.is(bad.status, 400, 'a reboot reason is one of the codes');
  assert.is((await machine(a)).attempts[0]?.state, 'installed');
  const reboot =
    '{"type":"handoff","method":"reboot","reason":"kexec-load-disabled: /proc/sys/kernel/kexec_load_disabled is 1"}';
  assert.is((await post(VICTIM, ours.reports, ours.token, reboot)).status, 201);
  const again = await post(ATTACKER, ours.reports, ours.token, kexec);
  assert.is(again.status, 409, 'one hand-off per attempt');
  assert.equal(
    [(await machine(a)).attempts[0]?.state, (await machine(b)).attempts[0]?.state],
    ['handed-off', 'installed'],
    "the other machine's attempt is untouched",
  );
  assert.match((await ipxe(VICTIM, a)).text, 'sanboot', 'the reboot after the hand-off boots the disk');
  assert.is((await post(VICTIM, ours.reports, ours.firstBoot, '{"type":"first-boot"}')).status, 201);
  assert.is((await post(ATTACKER, ours.reports, ours.token, kexec)).status, 409, 'closed: accepts nothing');
});

test('the token is checked before the body is read: 401 before 400 and 413', async () => {
  const mac = '52:54:00:a1:00:06';
  await ipxe(VICTIM, mac);
  const path = `/api/v1/machines/${mac}/attempts/1/events`;
  assert.is((await post(ATTACKER, path, undefined, '{nope')).status, 401);
  assert.is((await post(ATTACKER, path, 'A'.repeat(43), 'x'.repeat(70 * 1024))).status, 401);
  assert.is(
    (await post(ATTACKER, `/api/v1/machines/${mac}/events`, 'A'.repeat(43), '{"type":"installed"}')).status,
    401,
  );
  assert.match(ry.output(), /"status":401.*"msg":"request refused"/);
});

test.run();
