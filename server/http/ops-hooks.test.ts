// The dashboard/metrics hooks on the real Node server: an installer report (authenticated
// with its attempt's token) ties the client's address to the attempt; the image it then
// downloads (no ?mac=) shows as that machine's progress, and its bytes count as kind
// "image". Requests that merely name the MAC from another address tie nothing.
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { testApp } from '../testing/fixtures.ts';
import { listenHttp } from './listener.ts';

const MAC = canonicalMac('52:54:00:12:34:56');
const IMAGE = 'flatcar_production_image.bin.bz2';

test('image bytes served are tracked per machine through its reporting address', async () => {
  const t = await testApp();
  const size = 3 * 1024 * 1024 + 5;
  writeFileSync(join(t.dataDir, 'mirror/stable/amd64-usr/9999.0.0', IMAGE), Buffer.alloc(size, 1));
  const listener = await listenHttp(t.app, { host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${listener.address.port}`;
  try {
    assert.is((await fetch(`${base}/ipxe?mac=${MAC}`)).headers.get('x-railyard-decision'), 'install');
    const report = await fetch(`${base}/api/v1/machines/${MAC}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await t.installToken(MAC)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'install-started' }),
    });
    assert.is(report.status, 201);
    const body = await (await fetch(`${base}/mirror/stable/amd64-usr/current/${IMAGE}`)).arrayBuffer();
    assert.is(body.byteLength, size);
    await new Promise((r) => setTimeout(r, 50));
    const progress = t.progress.forAttempt(await t.store.openAttemptOf(MAC));
    assert.is(progress?.sent, size);
    assert.is(progress?.total, size);
    assert.ok(progress?.done && progress.complete);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, `railyard_http_bytes_served_total{kind="image"} ${size}`);
    const ui = await (await fetch(`${base}/ui/live`, { headers: await t.sessionHeaders() })).text();
    assert.match(ui, '3.00 MiB of 3.00 MiB (100%), response ended');
  } finally {
    await listener.stop(Date.now());
    t.cleanup();
  }
});

/** A request from another loopback address (the attacker on the boot LAN). */
function fromElsewhere(base: string, path: string, method = 'GET', body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, localAddress: '127.0.0.2' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    if (body) req.setHeader('content-type', 'application/json');
    req.end(body);
  });
}

test("a spoofed ?mac= download, a forged report and another client's image download do not move a machine's progress", async () => {
  const t = await testApp();
  const size = 2 * 1024 * 1024;
  writeFileSync(join(t.dataDir, 'mirror/stable/amd64-usr/9999.0.0', IMAGE), Buffer.alloc(size, 1));
  const listener = await listenHttp(t.app, { host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${listener.address.port}`;
  try {
    assert.is((await fetch(`${base}/ipxe?mac=${MAC}`)).headers.get('x-railyard-decision'), 'install');
    const kernel = `/mirror/stable/amd64-usr/current/flatcar_production_pxe.vmlinuz?mac=${MAC}`;
    assert.is(await fromElsewhere(base, kernel), 200);
    const forged = JSON.stringify({ type: 'install-started' });
    assert.is(await fromElsewhere(base, `/api/v1/machines/${MAC}/events`, 'POST', forged), 401);
    assert.is(await fromElsewhere(base, `/mirror/stable/amd64-usr/current/${IMAGE}`), 200);
    await new Promise((r) => setTimeout(r, 50));
    const attempt = await t.store.openAttemptOf(MAC);
    assert.is(attempt?.clientIp, '127.0.0.1');
    assert.is(t.progress.forAttempt(attempt), undefined, "nothing from 127.0.0.2 is this machine's");
    const ui = await (await fetch(`${base}/ui/live`, { headers: await t.sessionHeaders() })).text();
    assert.not.match(ui, '2.00 MiB of 2.00 MiB');
  } finally {
    await listener.stop(Date.now());
    t.cleanup();
  }
});

test.run();
