// c.get('mac') is the canonical MAC on every route that knows one (the request log line
// shows it): /ipxe, the installer cpio, the machine API, and the static routes' ?mac=. A
// ?mac= that is not a MAC is no MAC: the file is still served, nothing is attributed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TEST_ADMIN_TOKEN, type TestApp, testApp } from '../testing/fixtures.ts';
import { captureLog } from '../testing/log-capture.ts';

const { log, lines } = captureLog<{ msg: string; path?: string; status?: number; mac?: string }>();
let t: TestApp;
test.before(async () => {
  t = await testApp({ log, adminToken: TEST_ADMIN_TOKEN });
});
const HYP = '52-54-00-12-34-56';
const MAC = '52:54:00:12:34:56';
const KERNEL = '/mirror/stable/amd64-usr/9999.0.0/flatcar_production_pxe.vmlinuz';

/** The `mac` of the request log line for `path` (the latest one). */
async function loggedMac(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; mac: string | undefined }> {
  const res = await t.app.request(url, init);
  await res.arrayBuffer();
  const path = new URL(url, 'http://x').pathname;
  await new Promise((r) => setImmediate(r));
  const line = lines.filter((l) => l.msg === 'request' && l.path === path).at(-1);
  assert.ok(line, `a request line for ${path}`);
  return { status: res.status, mac: line.mac };
}

test('every route that knows the MAC logs it canonical', async () => {
  assert.equal(await loggedMac(`/ipxe?mac=${HYP}`, { headers: { 'user-agent': 'iPXE/1.0.0' } }), {
    status: 200,
    mac: MAC,
  });
  assert.equal(await loggedMac(`/installer/${HYP}.cpio.gz?attempt=1`), { status: 200, mac: MAC });
  assert.equal(await loggedMac(`${KERNEL}?mac=${HYP}`), { status: 200, mac: MAC });
  assert.equal(await loggedMac(`${KERNEL}?mac=5254.0012.3456`), { status: 200, mac: MAC });
  assert.equal(await loggedMac(`${KERNEL}`), { status: 200, mac: undefined });
});

test('a static ?mac= that is not a MAC: the file is served, no MAC, nothing attributed', async () => {
  const before = (await t.store.events(await machine())).length;
  for (const bad of ['not-a-mac', '52:54:00:12:34', `${HYP}x`]) {
    assert.equal(await loggedMac(`${KERNEL}?mac=${encodeURIComponent(bad)}`), {
      status: 200,
      mac: undefined,
    });
  }
  await new Promise((r) => setTimeout(r, 50));
  assert.is((await t.store.events(await machine())).length, before);
});

async function machine() {
  const m = (await t.store.listMachines()).find((x) => x.mac === MAC);
  assert.ok(m, 'the machine /ipxe saw');
  return m.mac;
}

test.after(() => t.cleanup());
test.run();
