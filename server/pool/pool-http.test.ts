// The warm pool against a real `railyard serve` (real HTTP, real SQLite, curl as the nodes):
// machines enter the pool through /ipxe, report `pooled` with the token their installer
// carries, long-poll for a claim; claims are exactly once, survive a restart and are
// honoured by matching; nothing one machine sends changes another's fate.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeInstallerCpio } from '../installer/fixtures/decode.ts';
import { publishRelease, tempDir } from '../testing/fixtures.ts';
import { curl, type Railyard, spawnRailyard } from '../testing/spawn-railyard.ts';
import { writePoolMachines } from './fixtures/machines.ts';

const NODE = '127.0.0.1';
const LAN = '127.0.0.2';
const ADMIN = 'pool-test-admin-token-0123456789abcd';
const VERSION = '9999.0.0';
const SHA = 'b'.repeat(64);
const work = tempDir('railyard-pool-http-');
const dataDir = join(work.dir, 'data');
const machinesDir = writePoolMachines(work.dir);
let ry: Railyard;

const start = () =>
  spawnRailyard(work.dir, { dataDir, machinesDir, admin: { token: ADMIN }, pool: { vanishAfter: '10m' } });

test.before(async () => {
  mkdirSync(join(dataDir, 'mirror'), { recursive: true });
  publishRelease(join(dataDir, 'mirror'), 'stable', 'amd64-usr', VERSION);
  ry = await start();
});
test.after(async () => {
  await ry?.stop();
  work.cleanup();
});

const mac = (i: number) => `52:54:00:00:15:${String(i).padStart(2, '0')}`;
const admin = ['-H', `Authorization: Bearer ${ADMIN}`];
const json = (body: unknown) => [
  '-H',
  'Content-Type: application/json',
  '--data-binary',
  JSON.stringify(body),
];
const bearer = (token: string) => ['-H', `Authorization: Bearer ${token}`];

interface Node {
  mac: string;
  token: string;
  reportUrl: string;
  poolScript: string;
}

/** PXE-boot `m` (from NODE): the pool install script, then its installer; the node's credentials. */
async function enterPool(m: string): Promise<Node> {
  const script = await curl(NODE, [
    '-A',
    'iPXE/1.21.1',
    `${ry.url}/ipxe?mac=${m.replaceAll(':', '-')}&platform=pcbios&arch=x86_64`,
  ]);
  assert.match(script.headers, /X-Railyard-Decision: install/i);
  const url = /initrd --name railyard-installer\.cpio\.gz (\S+)/.exec(script.text)?.[1] ?? '';
  const installer = await curl(NODE, [url]);
  assert.is(installer.status, 200, installer.text);
  const files = decodeInstallerCpio(installer.body).files;
  assert.not.ok(files.has('/opt/railyard/target.ign'), 'a pool installer carries no installed-system config');
  const poolScript = files.get('/opt/railyard/pool.sh')?.text ?? '';
  const token = /^TOKEN='([^']+)'/m.exec(poolScript)?.[1] ?? '';
  const reportUrl = /^REPORT_URL='([^']+)'/m.exec(poolScript)?.[1] ?? '';
  assert.ok(token && reportUrl, 'pool.sh names its report URL and token');
  return { mac: m, token, reportUrl, poolScript };
}

// The report URL as the node has it, on today's port (a restarted railyard listens on another).
const report = (n: Pick<Node, 'token' | 'reportUrl'>, body: unknown, from = NODE) =>
  curl(from, [
    '-X',
    'POST',
    ...bearer(n.token),
    ...json(body),
    n.reportUrl.replace(/^http:\/\/[^/]+/, ry.url),
  ]);
const pooled = (n: Node, over: Record<string, unknown> = {}) =>
  report(n, { type: 'pooled', version: VERSION, disk: '/dev/vda', imageSha256: SHA, ...over });
const poll = (m: string, token: string, wait: number, from = NODE) =>
  curl(from, [
    '--max-time',
    '90',
    ...bearer(token),
    `${ry.url}/api/v1/machines/${m}/claim?have=${VERSION}&wait=${wait}`,
  ]);
const claim = (body: unknown) =>
  curl(LAN, ['-X', 'POST', ...admin, ...json(body), `${ry.url}/api/v1/pool/claim`]);
const member = async (m: string) => {
  const list = JSON.parse((await curl(NODE, [...admin, `${ry.url}/api/v1/pool`])).text) as {
    members: Array<{ mac: string; state: string; claim: { profile: string } | null }>;
  };
  return list.members.find((x) => x.mac === m);
};
const machineState = async (m: string) =>
  (
    JSON.parse((await curl(NODE, [...admin, `${ry.url}/api/v1/machines/${m}`])).text) as {
      machine: { state: string };
    }
  ).machine.state;

let a: Node;
let b: Node;

test('two machines enter the pool through /ipxe and report pooled with their attempt token', async () => {
  a = await enterPool(mac(1));
  b = await enterPool(mac(2));
  assert.equal((await member(a.mac))?.state, 'pooling');
  for (const n of [a, b]) assert.is((await pooled(n)).status, 201);
  assert.equal([(await member(a.mac))?.state, await machineState(a.mac)], ['pooled', 'pooled']);
  assert.match(a.poolScript, `CLAIM_URL='${ry.url}/api/v1/machines/${a.mac}/claim'`);
});

test('the long-poll answers 204 after its wait when nothing claims the machine', async () => {
  const t0 = Date.now();
  const res = await poll(a.mac, a.token, 1);
  assert.is(res.status, 204, res.text);
  assert.ok(Date.now() - t0 >= 900, 'it waited');
});

test("nothing one machine sends changes another's fate", async () => {
  assert.is((await poll(b.mac, a.token, 0)).status, 401, "a's token does not poll b");
  assert.is((await poll(a.mac, 'x'.repeat(43), 0, LAN)).status, 401, 'a LAN client without the token');
  assert.is((await curl(LAN, [`${ry.url}/api/v1/machines/${a.mac}/claim?wait=0`])).status, 401, 'no token');
  const forged = await report(
    { token: a.token, reportUrl: b.reportUrl },
    { type: 'pooled', version: VERSION, disk: '/dev/sda', imageSha256: SHA },
  );
  assert.is(forged.status, 401, "a's token does not report on b's attempt");
  assert.is((await pooled(b, { version: '1.2.3' })).status, 409, 'a release other than its attempt pinned');
  const anonymous = await curl(LAN, [
    '-X',
    'POST',
    ...json({ profile: 'web', mac: a.mac }),
    `${ry.url}/api/v1/pool/claim`,
  ]);
  assert.is(anonymous.status, 401, 'claims need the admin token');
  assert.is(
    (
      await curl(LAN, [
        '-X',
        'POST',
        ...bearer(a.token),
        ...json({ profile: 'web' }),
        `${ry.url}/api/v1/pool/claim`,
      ])
    ).status,
    401,
    'a node token is not the admin token',
  );
  for (const n of [a, b]) assert.is((await member(n.mac))?.state, 'pooled', `${n.mac} untouched`);
});

test('a claim wakes the waiting long-poll within a second with the rendered, valid Ignition', async () => {
  const waiting = poll(a.mac, a.token, 30);
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  const res = await claim({ profile: 'web', mac: a.mac, metadata: { role: 'frontend' } });
  assert.is(res.status, 201, res.text);
  assert.equal(JSON.parse(res.text).claimed, [
    { mac: a.mac, profile: 'web', version: VERSION, prewritten: true },
  ]);
  const answer = await waiting;
  assert.ok(Date.now() - t0 < 1000, `woke after ${Date.now() - t0} ms`);
  assert.is(answer.status, 200, answer.text);
  const body = JSON.parse(answer.text) as { action: string; config: string; kernelArgs: string[] };
  assert.equal([body.action, body.kernelArgs], ['claim', ['flatcar.autologin']]);
  const text = body.config;
  assert.not.ok('kernelArguments' in JSON.parse(text), 'kernel arguments go to grub.cfg, not Ignition');
  const detail = JSON.parse((await curl(NODE, [...admin, `${ry.url}/api/v1/machines/${a.mac}`])).text);
  const target = await curl(NODE, [
    ...admin,
    `${ry.url}/api/v1/machines/${a.mac}/attempts/${detail.attempts[0].id}/target.ign`,
  ]);
  assert.is(target.text, text, "the admin's target.ign of a claimed pool attempt is the claim's config");
  assert.match(text, 'data:,frontend-flatcar-525400001501', 'the claim metadata over the pool group');
  assert.match(text, 'railyard-first-boot.service');
  const file = join(work.dir, 'claimed.ign');
  writeFileSync(file, text);
  const v = spawnSync('ignition-validate', [file], { encoding: 'utf8' });
  assert.is(v.status, 0, `ignition-validate: ${v.stdout}${v.stderr}`);
  assert.equal([(await member(a.mac))?.claim?.profile, await machineState(a.mac)], ['web', 'claimed']);
});

test('claim the other and a non-existent third concurrently: one success each, a clear error for the third', async () => {
  const [one, ghost] = await Promise.all([
    claim({ profile: 'web', mac: b.mac, metadata: { role: 'api' } }),
    claim({ profile: 'web', mac: mac(99), metadata: { role: 'api' } }),
  ]);
  assert.is(one.status, 201, one.text);
  assert.is(ghost.status, 404);
  assert.match(ghost.text, `no pooled machine ${mac(99)}`);
  const again = await claim({ profile: 'web', mac: b.mac, metadata: { role: 'api' } });
  assert.is(again.status, 404, 'a claimed machine is not claimed twice');
  const none = await claim({ profile: 'web', count: 1, metadata: { role: 'api' } });
  assert.is(none.status, 409);
  assert.match(none.text, 'asked for 1 machine(s) but only 0');
});

test('bad claims are refused naming the field; nothing is claimed', async () => {
  const c = await enterPool(mac(3));
  await pooled(c);
  for (const [body, status, words] of [
    [{ profile: 'nope' }, 404, 'no profile'],
    [{ profile: 'web' }, 400, 'metadata.role'],
    [{ profile: 'web', count: 0 }, 400, 'count'],
    [{ profile: 'web', count: 1, mac: c.mac }, 400, 'count or mac, not both'],
    [{ profile: 'web', mac: 'zz' }, 400, 'not a MAC address'],
    [{ profile: 'pinned' }, 409, 'not mirrored yet'],
    [{ profile: 'web', extra: 1 }, 400, 'extra'],
    [
      { profile: 'web', metadata: { role: 'a\n#!ipxe' } },
      400,
      'metadata.role: expected a value without line breaks',
    ],
    [
      { profile: 'web', metadata: { role: 'x', hostname: 'a b' } },
      400,
      'metadata.hostname: expected an RFC 1123',
    ],
  ] as const) {
    const res = await claim(body);
    assert.is(res.status, status, `${JSON.stringify(body)}: ${res.text}`);
    assert.match(res.text, words);
  }
  assert.is((await member(c.mac))?.state, 'pooled');
});

test('a railyard restart: a pooled machine is still claimable, a claim persists and matching honours it', async () => {
  await ry.stop();
  ry = await start();
  const c = mac(3);
  const res = await claim({ profile: 'web', count: 1, metadata: { role: 'late' } });
  assert.is(res.status, 201, res.text);
  assert.is(JSON.parse(res.text).claimed[0].mac, c);
  // b was claimed before the restart and never received it: its next PXE boot installs the claim.
  const script = await curl(NODE, [
    '-A',
    'iPXE/1.21.1',
    `${ry.url}/ipxe?mac=${b.mac.replaceAll(':', '-')}&platform=pcbios`,
  ]);
  assert.match(script.headers, /X-Railyard-Decision: install/i);
  const detail = JSON.parse((await curl(NODE, [...admin, `${ry.url}/api/v1/machines/${b.mac}`])).text) as {
    attempts: Array<{ profile: string; group: string }>;
  };
  assert.equal([detail.attempts[0]?.profile, detail.attempts[0]?.group], ['web', 'pool']);
  const url = /initrd --name railyard-installer\.cpio\.gz (\S+)/.exec(script.text)?.[1] ?? '';
  const files = decodeInstallerCpio((await curl(NODE, [url])).body).files;
  assert.ok(files.has('/opt/railyard/install.sh'), 'a claimed machine installs normally');
  assert.match(files.get('/opt/railyard/target.ign')?.text ?? '', 'data:,api-flatcar-525400001502');
});

test('the claimed machine installs and boots: claim→first-boot observed, release re-pools or reprovisions', async () => {
  const answer = JSON.parse((await poll(a.mac, a.token, 0)).text) as { config: string };
  const unit = answer.config;
  const firstBoot = /Authorization: Bearer ([A-Za-z0-9_-]{43})/.exec(unit)?.[1] ?? '';
  assert.ok(firstBoot, 'the claim carries the attempt first-boot token');
  assert.is((await report(a, { type: 'installed' })).status, 201);
  assert.is((await report({ token: firstBoot, reportUrl: a.reportUrl }, { type: 'first-boot' })).status, 201);
  assert.is(await machineState(a.mac), 'provisioned');
  const metrics = (await curl(NODE, [`${ry.url}/metrics`])).text;
  assert.match(metrics, 'railyard_pool_claim_to_first_boot_seconds_count 1');
  assert.match(metrics, /railyard_pool_machines\{state="claimed",version="9999\.0\.0"\} [1-9]/);
  const released = await curl(LAN, ['-X', 'POST', ...admin, `${ry.url}/api/v1/pool/${a.mac}/release`]);
  assert.equal(JSON.parse(released.text), { mac: a.mac, outcome: 'left' });
  assert.is(await machineState(a.mac), 'reprovision-requested');
  const notClaimed = await curl(LAN, ['-X', 'POST', ...admin, `${ry.url}/api/v1/pool/${a.mac}/release`]);
  assert.is(notClaimed.status, 409);
});

test('the dashboard pool page lists the pool and its claim form claims (signed in)', async () => {
  const d = await enterPool(mac(4));
  assert.is((await pooled(d)).status, 201);
  const jar = join(work.dir, 'cookies');
  await curl(NODE, [
    '-c',
    jar,
    '--data-urlencode',
    `token=${ADMIN}`,
    '--data-urlencode',
    'next=/ui/pool',
    `${ry.url}/ui/login`,
  ]);
  const page = await curl(NODE, ['-b', jar, `${ry.url}/ui/pool`]);
  assert.is(page.status, 200);
  assert.match(page.text, 'Warm pool');
  assert.match(page.text, `<a href="/ui/machines/${d.mac}">${d.mac}</a>`);
  const form = [
    '--data-urlencode',
    'profile=web',
    '--data-urlencode',
    'count=1',
    '--data-urlencode',
    'metadata=role=ui',
  ];
  const claimed = await curl(NODE, ['-b', jar, ...form, `${ry.url}/ui/pool/claim`]);
  assert.is(claimed.status, 200, claimed.text);
  assert.match(claimed.text, `Claimed ${d.mac} for web.`);
  const refused = await curl(NODE, ['-b', jar, ...form, `${ry.url}/ui/pool/claim`]);
  assert.is(refused.status, 409);
  assert.match(refused.text, 'only 0 pooled machine(s)');
  const anonymous = await curl(NODE, [...form, `${ry.url}/ui/pool/claim`]);
  assert.is(anonymous.status, 401);
});

test.run();
