// A machine-id is bound only by a first-boot report railyard accepted: through the HTTP edge
// (createApp), on the machine's install attempt, with that attempt's first-boot credential.
// A report with the install token, another machine's token, or after the attempt closed is
// refused and binds nothing; an Omaha request with the bound machineid is that machine.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { testApp } from '../testing/fixtures.ts';
import { machineIdFor, omahaXml, updateLab } from './testing.ts';

const A = canonicalMac('52:54:00:00:0a:01');
const B = canonicalMac('52:54:00:00:0b:01');
const IPXE = { 'user-agent': 'iPXE/1.21.1' };

async function setup() {
  const lab = updateLab({
    profiles: { workers: { channel: 'stable', updates: { version: '4230.2.3', maxConcurrent: 2 } } },
    groups: { default: { profile: 'workers' } },
  });
  const t = await testApp({
    store: lab.store,
    machinesDir: join(lab.dir, 'machines'),
    updates: { service: lab.service, api: lab.fleet },
  });
  const env = { incoming: { socket: { remoteAddress: '10.0.0.21' } } };
  const ipxe = (mac: string) =>
    t.app.request(`/ipxe?mac=${mac.replaceAll(':', '-')}&platform=pcbios`, { headers: IPXE }, env);
  const report = (mac: string, attempt: number, token: string, body: unknown) =>
    t.app.request(
      `/api/v1/machines/${mac}/attempts/${attempt}/events`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
      env,
    );
  /** /ipxe opens an attempt; the installer reports it installed. Returns the attempt id. */
  const install = async (mac: string) => {
    assert.is((await ipxe(mac)).headers.get('x-railyard-decision'), 'install');
    const attempt = (await t.store.openAttemptOf(canonicalMac(mac)))?.id as number;
    assert.is((await report(mac, attempt, await t.installToken(mac), { type: 'installed' })).status, 201);
    return attempt;
  };
  const cleanup = async () => {
    t.cleanup();
    await lab.close();
  };
  return { lab, t, report, install, cleanup };
}

test('the first-boot report with its own credential binds the machine-id; the install token cannot', async () => {
  const { lab, t, report, install, cleanup } = await setup();
  try {
    const attempt = await install(A);
    const firstBoot = { type: 'first-boot', machineId: machineIdFor(0xa1) };
    const installToken = await t.installToken(A);
    assert.is((await report(A, attempt, installToken, firstBoot)).status, 401, 'install token refused');
    assert.is(await lab.updates.macFor(machineIdFor(0xa1)), undefined, 'a refused report binds nothing');
    const firstBootToken = await t.firstBootToken(A);
    const res = await report(A, attempt, firstBootToken, firstBoot);
    assert.is(res.status, 201, await res.clone().text());
    assert.is(await lab.updates.macFor(machineIdFor(0xa1)), A);
    // Its Omaha requests are now the installed machine's, matched by its facts and policy.
    await lab.ask(omahaXml(machineIdFor(0xa1)));
    assert.is((await lab.updates.forMac(A))?.machineId, machineIdFor(0xa1));
    // The attempt is closed (provisioned): the same token cannot rebind the machine-id.
    const again = await report(A, attempt, firstBootToken, {
      type: 'first-boot',
      machineId: machineIdFor(0xa2),
    });
    assert.is(again.status, 409, 'a second first-boot is refused');
    assert.is(await lab.updates.macFor(machineIdFor(0xa2)), undefined);
  } finally {
    await cleanup();
  }
});

test("another machine's first-boot token cannot bind a machine-id to this machine", async () => {
  const { lab, t, report, install, cleanup } = await setup();
  try {
    const attemptA = await install(A);
    await install(B);
    const tokenB = await t.firstBootToken(B);
    const res = await report(A, attemptA, tokenB, { type: 'first-boot', machineId: machineIdFor(0xb1) });
    assert.is(res.status, 401, await res.clone().text());
    assert.is(await lab.updates.macFor(machineIdFor(0xb1)), undefined);
    assert.is((await t.store.getMachine(A))?.state, 'installed', 'nothing changed for A');
  } finally {
    await cleanup();
  }
});

test('a malformed machineId is a 400 that changes nothing', async () => {
  const { lab, t, report, install, cleanup } = await setup();
  try {
    const attempt = await install(A);
    const res = await report(A, attempt, await t.firstBootToken(A), {
      type: 'first-boot',
      machineId: 'A'.repeat(32),
    });
    assert.is(res.status, 400);
    assert.match(await res.text(), /machineId/);
    assert.is(
      (await t.store.openAttemptOf(A))?.state,
      'installed',
      'the attempt still waits for its first boot',
    );
    assert.equal(await lab.updates.list(), []);
  } finally {
    await cleanup();
  }
});

test.run();
