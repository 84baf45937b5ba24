import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type TestApp, testApp } from '../testing/fixtures.ts';
import { assertGolden } from '../testing/golden.ts';

const IPXE_UA = { 'user-agent': 'iPXE/1.0.0+git-20190125.36a4c85' };
let mirrored: TestApp;
let empty: TestApp;
test.before(async () => {
  mirrored = await testApp();
  empty = await testApp({ mirrored: false });
});

const ipxe = (app = mirrored.app, query = '', headers: Record<string, string> = IPXE_UA) =>
  app.request(`/ipxe?${query}`, { headers });

test('/boot.ipxe chains to /ipxe with the booting NIC identity and retries', async () => {
  const res = await mirrored.app.request('/boot.ipxe');
  assert.is(res.status, 200);
  const text = await res.text();
  assert.match(text, 'mac=${mac:hexhyp}');
  assert.not.match(text, 'net0/mac');
  assertGolden('ipxe/boot.ipxe', text);
});

test('default group: install script for the current release (golden)', async () => {
  const res = await ipxe(
    mirrored.app,
    'mac=52-54-00-aa-bb-cc&uuid=&serial=&hostname=&arch=x86_64&platform=pcbios',
  );
  assert.is(res.status, 200);
  assert.is(res.headers.get('x-railyard-decision'), 'install');
  const text = await res.text();
  assertGolden('ipxe/flatcar-stable.install.ipxe', text);
  // every initrd is named explicitly, and every name has its initrd= token on the kernel line
  for (const name of ['flatcar_production_pxe_image.cpio.gz', 'railyard-installer.cpio.gz']) {
    assert.match(text, `initrd --name ${name} `);
    assert.match(text, `initrd=${name} `);
  }
  assert.match(
    text,
    '/mirror/stable/amd64-usr/9999.0.0/flatcar_production_pxe.vmlinuz?mac=52-54-00-aa-bb-cc',
  );
});

test('per-MAC group gets its own profile and kernel args, whatever the MAC form (golden)', async () => {
  const res = await ipxe(mirrored.app, 'mac=52%3A54%3A00%3A00%3A00%3A01&arch=x86_64&platform=efi');
  const text = await res.text();
  assert.match(text, 'flatcar.autologin=ttyS0');
  assert.match(text, 'profile flatcar-debug');
  assertGolden('ipxe/flatcar-debug.install.ipxe', text);
});

test('release not mirrored: iPXE gets a console message and a retry; others get 503', async () => {
  const res = await ipxe(empty.app, 'mac=52-54-00-aa-bb-cc');
  assert.is(res.status, 200);
  const text = await res.text();
  assert.match(text, 'release stable/amd64-usr current not mirrored yet');
  assert.match(text, 'sleep 60');
  assertGolden('ipxe/not-mirrored.ipxe', text);
  const curl = await ipxe(empty.app, 'mac=52-54-00-aa-bb-cc', {});
  assert.is(curl.status, 503);
  assert.is(curl.headers.get('retry-after'), '60');
});

test('no matching group: 404 for plain clients, a console message for iPXE', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'railyard-machines-'));
  mkdirSync(join(dir, 'profiles'));
  mkdirSync(join(dir, 'groups'));
  writeFileSync(join(dir, 'profiles', 'p.yaml'), 'channel: stable\n');
  writeFileSync(join(dir, 'groups', 'only.yaml'), 'profile: p\nselector:\n  mac: 52:54:00:00:00:99\n');
  const t = await testApp({ machinesDir: dir });
  const plain = await ipxe(t.app, 'mac=52-54-00-aa-bb-cc&arch=x86_64', {});
  assert.is(plain.status, 404);
  const text = await plain.text();
  assert.match(text, 'echo railyard: no group matches this machine (mac=52:54:00:aa:bb:cc arch=x86_64)');
  assert.is((await ipxe(t.app, 'mac=52-54-00-aa-bb-cc')).status, 200);
  t.cleanup();
});

test('bad input is refused with 400, never rendered', async () => {
  for (const q of [
    'mac=zz',
    'mac=52-54-00-aa-bb-cc&hostname=a%0Achain%20http://x',
    'mac=52-54-00-aa-bb-cc&hostname=%24%7Bnet0%2Fmac%7D',
    'hostname=x',
  ]) {
    const res = await ipxe(mirrored.app, q, {});
    assert.is(res.status, 400, q);
    const body = (await res.json()) as { error: string };
    assert.type(body.error, 'string');
  }
});

test.after(() => {
  mirrored.cleanup();
  empty.cleanup();
});
test.run();
