// The provisioning flow through the HTTP API, in-process: install script → assets →
// installer cpio → reports → boot from disk → reprovision; failures and token checks.
import { execFileSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testApp } from '../testing/fixtures.ts';
import { assertGolden } from '../testing/golden.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const ADMIN_AUTH = { authorization: `Bearer ${ADMIN}` };
const IPXE = { 'user-agent': 'iPXE/1.0.0' };
const MAC = '52:54:00:12:34:56';
const HYP = '52-54-00-12-34-56';

async function setup() {
  const t = await testApp({ adminToken: ADMIN });
  const ipxe = (platform = 'pcbios') =>
    t.app.request(`/ipxe?mac=${HYP}&arch=x86_64&platform=${platform}`, { headers: IPXE });
  const report = async (body: unknown, token?: string, mac = MAC) =>
    t.app.request(`/api/v1/machines/${mac}/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token ?? (await t.installToken(MAC))}`,
        'content-type': 'application/json',
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const detail = async () =>
    (await (await t.app.request(`/api/v1/machines/${MAC}`, { headers: ADMIN_AUTH })).json()) as {
      machine: { state: string; failures: number; failureReason: string | null; profile: string };
      events: { type: string; data: Record<string, unknown> }[];
      timeline: { phase: string; seconds: number }[];
    };
  return { t, ipxe, report, detail };
}

test('a machine installs once, then boots from disk (BIOS: sanboot, UEFI: exit)', async () => {
  const { t, ipxe, report, detail } = await setup();
  const first = await ipxe();
  assert.is(first.headers.get('x-railyard-decision'), 'install');
  assert.is((await detail()).machine.state, 'installing');

  const kernel = await t.app.request(
    `/mirror/stable/amd64-usr/9999.0.0/flatcar_production_pxe.vmlinuz?mac=${HYP}`,
  );
  await kernel.arrayBuffer();
  const installerUrl = /initrd --name railyard-installer\.cpio\.gz (\S+)/.exec(await first.text())?.[1];
  assert.match(installerUrl ?? '', `/installer/${HYP}.cpio.gz?attempt=1`);
  const cpio = await t.app.request(`/installer/${HYP}.cpio.gz?attempt=1`);
  assert.is(cpio.status, 200);
  assert.is(cpio.headers.get('content-type'), 'application/gzip');
  const body = Buffer.from(await cpio.arrayBuffer());
  assert.is(Number(cpio.headers.get('content-length')), body.length);
  const listing = execFileSync('sh', ['-c', 'gzip -dc | cpio -t 2>/dev/null'], { input: body }).toString();
  assert.match(listing, 'usr/share/oem/config.ign');
  const again = await t.app.request(`/installer/${MAC}.cpio.gz`, {
    headers: { 'if-none-match': cpio.headers.get('etag') as string },
  });
  assert.is(again.status, 304);

  assert.is((await report({ type: 'install-started' })).status, 201);
  assert.is((await report({ type: 'installed' })).status, 201);
  assert.is((await detail()).machine.state, 'installed');

  const bios = await ipxe('pcbios');
  assert.is(bios.headers.get('x-railyard-decision'), 'local-boot');
  const biosScript = await bios.text();
  assert.match(biosScript, 'sanboot --no-describe --drive 0x80');
  assertGolden('ipxe/local-boot.sanboot.ipxe', biosScript);
  assert.is((await detail()).machine.state, 'provisioned');
  const efi = await (await ipxe('efi')).text();
  assert.match(efi, /^exit 1$/m);
  assertGolden('ipxe/local-boot.exit.ipxe', efi);

  const types = (await detail()).events.map((e) => e.type);
  for (const type of [
    'install-script-served',
    'kernel-fetched',
    'installer-fetched',
    'install-started',
    'installed',
    'disk-boot-script-served',
  ]) {
    assert.ok(types.includes(type), `timeline has ${type}: ${types.join(',')}`);
  }
  const kernelEvent = (await detail()).events.find((e) => e.type === 'kernel-fetched');
  assert.is(kernelEvent?.data['bytes'], 4096);
  t.cleanup();
});

test('reprovision needs the admin token, then the next boot installs again', async () => {
  const { t, ipxe, report } = await setup();
  await ipxe();
  await report({ type: 'installed' });
  const url = `/api/v1/machines/${MAC}/reprovision`;
  assert.is((await t.app.request(url, { method: 'POST' })).status, 401);
  assert.is(
    (await t.app.request(url, { method: 'POST', headers: { authorization: 'Bearer wrong' } })).status,
    401,
  );
  const ok = await t.app.request(url, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
  assert.is(ok.status, 202);
  assert.is((await ipxe()).headers.get('x-railyard-decision'), 'install');
  assert.is(
    (
      await t.app.request('/api/v1/machines/52:54:00:99:99:99/reprovision', {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}` },
      })
    ).status,
    404,
  );
  t.cleanup();
});

test('installer reports: any other token, bad JSON, unknown types and huge bodies are refused', async () => {
  const { t, ipxe, report, detail } = await setup();
  await ipxe();
  await t.app.request('/ipxe?mac=52-54-00-00-00-01', { headers: IPXE });
  const other = await t.installToken('52:54:00:00:00:01');
  assert.is((await report({ type: 'installed' }, other)).status, 401);
  assert.is((await report({ type: 'installed' }, 'x'.repeat(43))).status, 401);
  assert.is((await report('{nope')).status, 400);
  assert.is((await report({ type: 'reprovision-requested' })).status, 400);
  assert.is((await report({ type: 'installed' }, undefined, 'not-a-mac')).status, 400);
  assert.is((await report({ type: 'install-failed', output: 'x'.repeat(70 * 1024) })).status, 413);
  assert.is((await detail()).machine.state, 'installing');
  t.cleanup();
});

test('a failed install is retried up to the limit, then the node shows why', async () => {
  const { ipxe, report, detail } = await setup();
  await ipxe();
  for (let i = 1; i <= 3; i++) {
    await report({ type: 'install-failed', exitCode: 1, output: 'gpgv: BAD signature from "test"' });
    const res = await ipxe();
    const expected = i <= 2 ? 'install' : 'show-failure';
    assert.is(res.headers.get('x-railyard-decision'), expected, `after failure ${i}`);
    if (expected === 'show-failure') {
      const text = await res.text();
      assert.match(text, 'failed 3 time(s)');
      assert.match(text, 'BAD signature');
      assert.not.match(text, '"');
    }
  }
  assert.is((await detail()).machine.failures, 3);
});

test('installer for a machine that never asked /ipxe is 404', async () => {
  const { t } = await setup();
  assert.is((await t.app.request(`/installer/${HYP}.cpio.gz`)).status, 404);
  assert.is((await t.app.request('/installer/zz.cpio.gz')).status, 400);
  assert.is((await t.app.request(`/api/v1/machines/${MAC}`, { headers: ADMIN_AUTH })).status, 404);
  t.cleanup();
});

test.run();
