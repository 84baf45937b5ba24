// Install attempts through the HTTP edge, in-process (client IPs given as the Node adapter
// would): the installer is rendered from the attempt, bound to its client, served only
// while it is open; a new decision supersedes; reports name their attempt.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeInstallerCpio } from '../installer/fixtures/decode.ts';
import { canonicalMac } from '../machines/identity.ts';
import { DB_SECRET, writeAttemptMachines } from '../testing/attempt-machines.ts';
import { type TestApp, type TestAppOptions, tempDir, testApp } from '../testing/fixtures.ts';

const MAC = canonicalMac('52:54:00:12:34:56');
const HYP = '52-54-00-12-34-56';
const ADMIN = 'admin-token-0123456789abcdef';
const NODE = '10.0.0.21';
const OTHER = '10.0.0.99';
const IPXE = { 'user-agent': 'iPXE/1.21.1' };

async function setup(options: TestAppOptions = {}) {
  const work = tempDir();
  const machinesDir = writeAttemptMachines(work.dir);
  const t = await testApp({ machinesDir, adminToken: ADMIN, ...options });
  const env = (ip: string) => ({ incoming: { socket: { remoteAddress: ip } } });
  const get = (path: string, ip = NODE, headers: Record<string, string> = IPXE) =>
    t.app.request(path, { headers }, env(ip));
  const ipxe = (query = '', ip = NODE) => get(`/ipxe?mac=${HYP}&platform=pcbios${query}`, ip);
  const installerUrl = (script: string) => {
    const url = /initrd --name railyard-installer\.cpio\.gz (\S+)/.exec(script)?.[1] ?? '';
    return url.replace(/^https?:\/\/[^/]+/, '');
  };
  const report = (attempt: number | undefined, token: string, body: unknown, ip = NODE) =>
    t.app.request(
      attempt === undefined
        ? `/api/v1/machines/${MAC}/events`
        : `/api/v1/machines/${MAC}/attempts/${attempt}/events`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
      env(ip),
    );
  const cleanup = () => {
    t.cleanup();
    work.cleanup();
  };
  return { t, get, ipxe, installerUrl, report, machinesDir, cleanup };
}

async function installerFiles(res: Response) {
  assert.is(res.status, 200, await res.clone().text());
  return decodeInstallerCpio(Buffer.from(await res.arrayBuffer())).files;
}

async function tokens(t: TestApp) {
  return { install: await t.installToken(MAC), firstBoot: await t.firstBootToken(MAC) };
}

test('an install decision opens an attempt: the installer is rendered from it and names it', async () => {
  const { t, get, ipxe, installerUrl, report, cleanup } = await setup();
  const res = await ipxe('&hostname=node7&rack=r1');
  assert.is(res.headers.get('x-railyard-decision'), 'install');
  const url = installerUrl(await res.text());
  assert.is(url, `/installer/${HYP}.cpio.gz?attempt=1`);
  const attempt = await t.store.getAttempt(1);
  assert.equal(
    [
      attempt?.state,
      attempt?.group,
      attempt?.profile,
      attempt?.version,
      attempt?.installDisk,
      attempt?.clientIp,
    ],
    ['served', 'default', 'std', '9999.0.0', 'smallest', NODE],
  );
  assert.equal(attempt?.facts, { mac: MAC, platform: 'pcbios', hostname: 'node7', rack: 'r1' });
  const files = await installerFiles(await get(url));
  const script = files.get('/opt/railyard/install.sh')?.text ?? '';
  const { install, firstBoot } = await tokens(t);
  assert.match(script, `/api/v1/machines/${MAC}/attempts/1/events'`);
  assert.match(script, `TOKEN='${install}'`);
  assert.match(files.get('/opt/railyard/target.ign')?.text ?? '', firstBoot);
  assert.is((await report(1, install, { type: 'install-started' })).status, 201);
  const detail = (await (
    await get(`/api/v1/machines/${MAC}`, NODE, { authorization: `Bearer ${ADMIN}` })
  ).json()) as {
    attempts: Array<{ id: number; state: string; events: Array<{ type: string }>; secrets?: unknown }>;
    events: Array<{ type: string; attemptId: number | null }>;
  };
  assert.equal(
    detail.attempts.map((a) => [a.id, a.state, a.events.map((e) => e.type)]),
    [[1, 'installing', ['install-script-served', 'installer-fetched', 'install-started']]],
  );
  assert.is(detail.attempts[0]?.secrets, undefined);
  assert.ok(detail.events.every((e) => e.attemptId === 1));
  cleanup();
});

test('the installer only goes to the client that received the script, and only while the attempt is open', async () => {
  const { t, get, ipxe, installerUrl, report, cleanup } = await setup();
  const url = installerUrl(await (await ipxe()).text());
  const stolen = await get(url, OTHER);
  assert.is(stolen.status, 403);
  assert.match(
    await stolen.text(),
    /served only to 10\.0\.0\.21, not 10\.0\.0\.99 \(installer\.bindClientIp\)/,
  );
  assert.is((await get(`/installer/${HYP}.cpio.gz`, OTHER)).status, 403, 'the legacy URL too');
  assert.is((await get(url, `::ffff:${NODE}`)).status, 200, 'IPv4-mapped is the same client');
  assert.is((await get(`/installer/${HYP}.cpio.gz?attempt=9`)).status, 404);
  assert.is((await get(`/installer/${HYP}.cpio.gz?attempt=x`)).status, 400);
  const { install } = await tokens(t);
  await report(1, install, { type: 'installed' });
  const after = await get(url);
  assert.is(after.status, 404, 'installed: its installer is not served any more');
  assert.match(await after.text(), /attempt 1 is installed/);
  cleanup();
});

test('installer.bindClientIp false (NAT): any client, but the attempt must be named', async () => {
  const { get, ipxe, installerUrl, cleanup } = await setup({ bindClientIp: false });
  const url = installerUrl(await (await ipxe()).text());
  assert.is((await get(url, OTHER)).status, 200);
  const legacy = await get(`/installer/${HYP}.cpio.gz`, NODE);
  assert.is(legacy.status, 404);
  assert.match(await legacy.text(), /name the attempt/);
  cleanup();
});

test('a new install decision supersedes: the old installer 404s, the old token gets 409', async () => {
  const { t, get, ipxe, installerUrl, report, cleanup } = await setup();
  const first = installerUrl(await (await ipxe()).text());
  const old = await tokens(t);
  const second = installerUrl(await (await ipxe()).text());
  assert.is(second, `/installer/${HYP}.cpio.gz?attempt=2`);
  const gone = await get(first);
  assert.is(gone.status, 404);
  assert.match(await gone.text(), /attempt 1 is superseded/);
  const refused = await report(1, old.install, { type: 'installed' });
  assert.is(refused.status, 409);
  assert.match(await refused.text(), /attempt 1 is closed \(superseded\)/);
  assert.is(
    (await report(undefined, old.install, { type: 'installed' })).status,
    401,
    'not the open attempt’s',
  );
  assert.is((await t.store.getMachine(MAC))?.state, 'installing');
  assert.is((await get(second)).status, 200);
  cleanup();
});

test('a profile edited after the script was served: 409 for its installer, the next /ipxe pins the new one', async () => {
  const { t, get, ipxe, installerUrl, machinesDir, cleanup } = await setup();
  const url = installerUrl(await (await ipxe()).text());
  writeFileSync(join(machinesDir, 'profiles', 'std.yaml'), 'installDisk: /dev/sdz\n');
  t.reloadMachines();
  const changed = await get(url);
  assert.is(changed.status, 409);
  assert.match(
    await changed.text(),
    /profile std or group default changed since its install script was served/,
  );
  const again = installerUrl(await (await ipxe()).text());
  assert.match(
    (await installerFiles(await get(again))).get('/opt/railyard/write-image.sh')?.text ?? '',
    "BZ2_ARGS=(-d '/dev/sdz'",
  );
  cleanup();
});

test('fact poisoning: a spoofed /ipxe for the victim cannot change what the victim installs', async () => {
  const { t, get, ipxe, installerUrl, cleanup } = await setup();
  const mine = installerUrl(await (await ipxe()).text());
  // The attacker asks for the victim's MAC with role=db, from another address.
  const poisoned = await ipxe('&role=db', OTHER);
  assert.match(await poisoned.text(), 'profile db');
  assert.equal((await t.store.getMachine(MAC))?.facts, { mac: MAC, platform: 'pcbios', role: 'db' });
  assert.is((await get(mine)).status, 404, "the victim's attempt was superseded: its installer is gone");
  assert.is(
    (await get(`/installer/${HYP}.cpio.gz?attempt=2`)).status,
    403,
    "the attacker's attempt is not the victim's",
  );
  // The victim asks again (its iPXE script does after a failed download): its own facts, its own attempt.
  const again = installerUrl(await (await ipxe()).text());
  const files = await installerFiles(await get(again));
  assert.match(files.get('/opt/railyard/write-image.sh')?.text ?? '', 'BZ2_ARGS=(-s ');
  assert.not.match(files.get('/opt/railyard/target.ign')?.text ?? '', DB_SECRET);
  assert.equal(
    (await t.store.getMachine(MAC))?.facts,
    { mac: MAC, platform: 'pcbios' },
    'replaced, not merged',
  );
  cleanup();
});

test('nothing a client sends makes a provisioned machine reinstall', async () => {
  const { t, get, ipxe, report, cleanup } = await setup();
  await ipxe();
  const { install, firstBoot } = await tokens(t);
  await report(1, install, { type: 'install-started' });
  await report(1, install, { type: 'installed' });
  assert.is((await ipxe()).headers.get('x-railyard-decision'), 'local-boot');
  assert.is((await t.store.getAttempt(1))?.state, 'installed', 'phoneHome: open until first-boot');
  assert.is((await report(1, firstBoot, { type: 'first-boot' })).status, 201);
  assert.is((await t.store.getMachine(MAC))?.state, 'provisioned');
  for (const [token, body] of [
    [install, { type: 'install-started' }],
    [install, { type: 'install-failed', exitCode: 1 }],
    [install, { type: 'progress', bytes: 1 }],
    [firstBoot, { type: 'first-boot' }],
  ] as const) {
    const res = await report(1, token, body, OTHER);
    assert.is(res.status, 409, JSON.stringify(body));
    assert.is(
      (await report(undefined, token, body, OTHER)).status,
      401,
      'no open attempt: the token is dead',
    );
  }
  for (const query of ['', '&role=db', '&role=kiosk&hostname=evil']) {
    const res = await ipxe(query, OTHER);
    assert.is(res.headers.get('x-railyard-decision'), 'local-boot', query);
  }
  assert.is((await t.store.attempts(MAC)).length, 1, 'no attempt was opened');
  assert.is((await get(`/installer/${HYP}.cpio.gz?attempt=1`)).status, 404);
  assert.is((await t.store.getMachine(MAC))?.state, 'provisioned');
  cleanup();
});

test('phoneHome false: the disk-boot script closes the attempt as provisioned', async () => {
  const { t, ipxe, report, cleanup } = await setup();
  await ipxe('&role=kiosk');
  await report(1, await t.installToken(MAC), { type: 'installed' });
  await ipxe('&role=kiosk');
  assert.equal(
    [(await t.store.getAttempt(1))?.state, (await t.store.getMachine(MAC))?.state],
    ['provisioned', 'provisioned'],
  );
  cleanup();
});

test('admin: the target Ignition an attempt rendered, byte for byte, also after it closed', async () => {
  const { t, get, ipxe, installerUrl, report, cleanup } = await setup();
  const url = installerUrl(await (await ipxe('&role=db')).text());
  const target = (await installerFiles(await get(url))).get('/opt/railyard/target.ign')?.text;
  const path = `/api/v1/machines/${HYP}/attempts/1/target.ign`;
  assert.is((await get(path, NODE, {})).status, 401);
  assert.is((await get(path, NODE, { authorization: 'Bearer wrong' })).status, 401);
  assert.is(
    (await get(path, NODE, await t.sessionHeaders())).status,
    401,
    'a dashboard session is not enough',
  );
  const { install, firstBoot } = await tokens(t);
  await report(1, install, { type: 'installed' });
  await report(1, firstBoot, { type: 'first-boot' });
  const res = await get(path, NODE, { authorization: `Bearer ${ADMIN}` });
  assert.is(res.status, 200);
  assert.is(await res.text(), target);
  assert.match(target ?? '', DB_SECRET);
  assert.is(
    (await get(`/api/v1/machines/${HYP}/attempts/7/target.ign`, NODE, { authorization: `Bearer ${ADMIN}` }))
      .status,
    404,
  );
  cleanup();
});

test('ui.public opens reads of the API, never an attempt’s target Ignition', async () => {
  const { get, ipxe, cleanup } = await setup({ publicRead: true });
  await ipxe();
  assert.is((await get(`/api/v1/machines/${HYP}`, NODE, {})).status, 200);
  const path = `/api/v1/machines/${HYP}/attempts/1/target.ign`;
  assert.is((await get(path, NODE, {})).status, 401);
  assert.is((await get(path, NODE, { authorization: `Bearer ${ADMIN}` })).status, 200);
  cleanup();
});

test('a ?mac= download counts only from the open attempt’s client', async () => {
  const { t, get, ipxe, cleanup } = await setup();
  const kernel = `/mirror/stable/amd64-usr/9999.0.0/flatcar_production_pxe.vmlinuz?mac=${HYP}`;
  await (await get(kernel)).arrayBuffer();
  await ipxe();
  await (await get(kernel, OTHER)).arrayBuffer();
  await (await get(kernel.replace(HYP, '52-54-00-00-99-99'))).arrayBuffer();
  await (await get(kernel)).arrayBuffer();
  await new Promise((r) => setTimeout(r, 20));
  const fetched = (await t.store.events(MAC)).filter((e) => e.type === 'kernel-fetched');
  assert.equal(
    fetched.map((e) => e.attemptId),
    [1],
  );
  assert.is(await t.store.getMachine(canonicalMac('52:54:00:00:99:99')), undefined);
  cleanup();
});

test.run();
