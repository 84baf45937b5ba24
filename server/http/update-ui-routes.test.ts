// The dashboard's update section and pause forms: rollouts, versions and clients on /ui, the
// machine page's update record, the pause switch for signed-in admins only, same-origin only.
import { join } from 'node:path';
import type { Hono } from 'hono';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { type TestApp, testApp } from '../testing/fixtures.ts';
import { DASHBOARD_CLIENTS, dashboardFleet } from '../updates/fleet.ts';
import { machineIdFor, omahaXml, type UpdateLab, updateLab } from '../updates/testing.ts';
import type { AppEnv } from './app.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const MAC = canonicalMac('52:54:00:00:00:01');

async function withUi(fn: (lab: UpdateLab, app: Hono<AppEnv>, t: TestApp) => Promise<void>) {
  const lab = updateLab({
    profiles: { workers: { channel: 'stable', updates: { version: '4230.2.3', maxConcurrent: 2 } } },
    groups: { default: { profile: 'workers' } },
  });
  // The whole app (createApp): the dashboard's sign-in and form limits in front.
  const t = await testApp({
    store: lab.store,
    machinesDir: join(lab.dir, 'machines'),
    adminToken: ADMIN,
    dashboardCacheMs: 0,
    updates: {
      service: lab.service,
      api: lab.fleet,
      dashboard: { fleet: () => dashboardFleet(lab.fleet), forMac: (mac) => lab.updates.forMac(mac) },
    },
  });
  try {
    await fn(lab, t.app, t);
  } finally {
    t.cleanup();
    await lab.close();
  }
}

test('the fleet page shows rollouts, the version histogram and every client; the machine page its update', () =>
  withUi(async (lab, app, t) => {
    await lab.installed(MAC, machineIdFor(1));
    await lab.ask(omahaXml(machineIdFor(1)));
    await lab.ask(omahaXml(machineIdFor(0xbad), { version: '4230.2.3' }));
    assert.is((await app.request('/ui/live')).status, 401, 'the update section is behind the sign-in');
    const session = await t.sessionHeaders();
    const html = await (await app.request('/ui/live', { headers: session })).text();
    assert.match(html, /<tr data-group="default">/);
    assert.match(html, /4230\.2\.3 \(4230\.2\.3\)/);
    assert.match(html, /<td class="slots">1 &#x2F; 2<\/td>/, 'one of two slots in use');
    assert.match(html, /<tr data-version="4230.2.2"><th scope="row">4230.2.2<\/th><td>1<\/td>/);
    assert.match(html, new RegExp(`<tr data-machine-id="${machineIdFor(1)}" data-update-state="offered">`));
    assert.match(html, /unknown 000000000000…/);
    const page = await (await app.request(`/ui/machines/${MAC}`, { headers: session })).text();
    assert.match(page, /<dd id="update-state">offered<\/dd>/);
    assert.match(page, /<dd id="update-target">4230\.2\.3<\/dd>/);
  }));

test('the fleet page lists the first update clients only (bounded like the machine table), with a pointer to the API', () =>
  withUi(async (lab, app, t) => {
    const n = DASHBOARD_CLIENTS + 7;
    for (let i = 1; i <= n; i++) await lab.ask(omahaXml(machineIdFor(0x1000 + i)));
    const html = await (await app.request('/ui/live', { headers: await t.sessionHeaders() })).text();
    assert.is(html.match(/<tr data-machine-id=/g)?.length, DASHBOARD_CLIENTS);
    assert.match(
      html,
      `The first ${DASHBOARD_CLIENTS} of ${n} update clients; all of them: <code>GET /api/v1/updates?offset=${DASHBOARD_CLIENTS}</code>`,
    );
    assert.match(
      html,
      `<tr data-version="4230.2.2"><th scope="row">4230.2.2</th><td>${n}</td>`,
      'the histogram counts all',
    );
  }));

test('pause/resume forms: signed-in admins only, same origin only', () =>
  withUi(async (lab, app, t) => {
    const post = (path: string, headers: Record<string, string> = {}) =>
      app.request(path, { method: 'POST', headers });
    assert.is((await post('/ui/updates/groups/default/pause')).status, 401);
    assert.is(
      (await post('/ui/updates/groups/default/pause', { Cookie: `railyard_session=${ADMIN}` })).status,
      401,
      'the admin token as a cookie is no session',
    );
    const cookie = await t.sessionHeaders();
    assert.is(
      (await post('/ui/updates/groups/default/pause', { ...cookie, 'Sec-Fetch-Site': 'cross-site' })).status,
      403,
    );
    assert.equal(await lab.updates.pauses(), [], 'refused requests change nothing');
    const res = await post('/ui/updates/groups/default/pause', {
      ...cookie,
      'Sec-Fetch-Site': 'same-origin',
    });
    assert.is(res.status, 303);
    assert.equal(
      (await lab.updates.pauses()).map((p) => [p.group, p.by]),
      [['default', 'admin (dashboard)']],
    );
    const live = async () => (await app.request('/ui/live', { headers: cookie })).text();
    assert.match(await live(), /paused by admin \(dashboard\)/);
    assert.is((await post('/ui/updates/pause', cookie)).status, 303);
    assert.match(await live(), /id="updates-paused-all"/);
    await post('/ui/updates/resume', cookie);
    await post('/ui/updates/groups/default/resume', cookie);
    assert.equal(await lab.updates.pauses(), []);
  }));

test.run();
