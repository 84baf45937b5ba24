// The Omaha endpoint and the update API over HTTP (in-process app.request): update_engine-
// shaped requests answered, hostile input a 400 that changes nothing, the pause switch
// behind the admin token, the fleet view and the update metrics.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT } from '../config.ts';
import { canonicalMac } from '../machines/identity.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { registerUpdateMetrics } from '../metrics/update-metrics.ts';
import { type TestApp, testApp } from '../testing/fixtures.ts';
import { type fleetView, metricsFleet } from '../updates/fleet.ts';
import { machineIdFor, omahaXml, type UpdateLab, updateLab, verdict } from '../updates/testing.ts';
import type { AppEnv } from './app.ts';

const ADMIN = 'admin-token-0123456789abcdef';

async function withLab(fn: (lab: UpdateLab, w: Wired) => Promise<void>) {
  const metrics = createMetrics({ processMetrics: false });
  let lab: UpdateLab | undefined;
  const observer = registerUpdateMetrics(metrics, () => metricsFleet((lab as UpdateLab).fleet));
  lab = updateLab({
    profiles: { workers: { channel: 'stable', updates: { version: '4230.2.3', maxConcurrent: 2 } } },
    groups: { default: { profile: 'workers' } },
    extra: { observer },
  });
  // The whole app (createApp): its Host check and sign-in in front, the lab's store behind.
  const t = await testApp({
    store: lab.store,
    machinesDir: join(lab.dir, 'machines'),
    adminToken: ADMIN,
    updates: { service: lab.service, api: lab.fleet, onRejected: observer.rejected },
  });
  const post = (body: string | Buffer, path = '/v1/update/', type = 'text/xml') =>
    t.app.request(path, { method: 'POST', body, headers: { 'Content-Type': type } });
  try {
    await fn(lab, { app: t.app, metrics, post, t });
  } finally {
    t.cleanup();
    await lab.close();
  }
}

interface Wired {
  app: Hono<AppEnv>;
  t: TestApp;
  metrics: ReturnType<typeof createMetrics>;
  post: (body: string | Buffer, path?: string, type?: string) => Promise<Response> | Response;
}

test('POST /v1/update/ and /v1/update answer update_engine with text/xml', () =>
  withLab(async (_lab, { post }) => {
    const fixture = readFileSync(join(PACKAGE_ROOT, 'fixtures/omaha/updatecheck.request.xml'));
    for (const path of ['/v1/update/', '/v1/update']) {
      const res = await post(fixture, path);
      assert.is(res.status, 200);
      assert.is(res.headers.get('content-type'), 'text/xml; charset=utf-8');
      assert.equal(verdict(await res.text()), { status: 'ok', version: '4230.2.3' });
    }
    assert.is((await post(fixture, '/v1/update/', 'application/xml; charset=UTF-8')).status, 200);
  }));

test('POST /v1/update/ is machine-facing: no sign-in, no Host check (update_engine sends neither)', () =>
  withLab(async (_lab, { app }) => {
    const fixture = readFileSync(join(PACKAGE_ROOT, 'fixtures/omaha/updatecheck.request.xml'));
    const res = await app.request('http://railyard.other.example/v1/update/', {
      method: 'POST',
      body: fixture,
      headers: { 'Content-Type': 'text/xml', Host: 'railyard.other.example' },
    });
    assert.is(res.status, 200, await res.clone().text());
    assert.equal(verdict(await res.text()), { status: 'ok', version: '4230.2.3' });
    const ui = await app.request('http://railyard.other.example/api/v1/updates', {
      headers: { Host: 'railyard.other.example' },
    });
    assert.is(ui.status, 421, 'the update API keeps the Host check');
  }));

const HOSTILE: Array<[string, string | Buffer, string?]> = [
  [
    'entity expansion',
    `<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>${omahaXml(machineIdFor(7)).replace(/^<\?xml[^>]*>\n/, '')}`,
  ],
  ['wrong protocol', omahaXml(machineIdFor(7)).replace('protocol="3.0"', 'protocol="2.0"')],
  ['huge body', omahaXml(machineIdFor(7)).replace('</request>', `${' '.repeat(70_000)}</request>`)],
  ['not XML', '{"hello":1}'],
  ['JSON content type', omahaXml(machineIdFor(7)), 'application/json'],
  ['Latin-1 charset', omahaXml(machineIdFor(7)), 'text/xml; charset=iso-8859-1'],
];

for (const [name, body, type] of HOSTILE) {
  test(`hostile request → 400, nothing recorded: ${name}`, () =>
    withLab(async (lab, { post, metrics }) => {
      const res = await post(body, '/v1/update/', type);
      assert.is(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, /invalid Omaha request/);
      assert.equal(await lab.updates.list(), [], 'no client recorded');
      assert.equal(await lab.store.listMachines(), []);
      assert.match(await metrics.registry.metrics(), /railyard_omaha_rejected_total 1/);
    }));
}

test('GET /api/v1/updates is paged like /api/v1/machines: ?limit= and ?offset=, totals over all clients', () =>
  withLab(async (lab, { app, t }) => {
    for (let i = 1; i <= 5; i++) await lab.ask(omahaXml(machineIdFor(i)));
    const page = async (query: string) => {
      const res = await app.request(`/api/v1/updates${query}`, { headers: t.adminHeaders });
      return { status: res.status, body: (await res.json()) as Awaited<ReturnType<typeof fleetView>> };
    };
    const all = await page('');
    assert.equal([all.body.total, all.body.offset, all.body.limit, all.body.clients.length], [5, 0, 1000, 5]);
    const second = await page('?limit=2&offset=2');
    assert.equal(
      second.body.clients.map((c) => c.machineId),
      all.body.clients.slice(2, 4).map((c) => c.machineId),
    );
    assert.equal([second.body.total, second.body.unknown], [5, 5]);
    assert.equal(second.body.versions, [{ version: '4230.2.2', machines: 5 }], 'the histogram counts all');
    for (const bad of ['?limit=0', '?limit=1001', '?offset=-1', '?limit=abc'])
      assert.is((await page(bad)).status, 400, bad);
  }));

test('pause switch: admin token required; pauses offers; fleet view and metrics', () =>
  withLab(async (lab, { app, post, metrics, t }) => {
    await lab.installed(canonicalMac('52:54:00:00:00:01'), machineIdFor(1));
    const read = (path: string) => app.request(path, { headers: t.adminHeaders });
    const pause = (token?: string) =>
      app.request('/api/v1/updates/groups/default/pause', {
        method: 'POST',
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      });
    assert.is((await pause()).status, 401);
    assert.is((await pause('wrong-token-0123456789')).status, 401);
    assert.is((await pause(ADMIN)).status, 200);
    assert.equal(verdict(await (await post(omahaXml(machineIdFor(1)))).text()), { status: 'noupdate' });
    for (const path of ['/api/v1/updates', '/api/v1/machines/52:54:00:00:00:01/update'])
      assert.is((await app.request(path)).status, 401, `${path}: reads need a sign-in like all of /api/v1`);
    const fleet = (await (await read('/api/v1/updates')).json()) as Awaited<ReturnType<typeof fleetView>>;
    assert.is(fleet.rollouts[0]?.group, 'default');
    assert.is(fleet.rollouts[0]?.target, '4230.2.3');
    assert.ok(fleet.rollouts[0]?.pausedByAdmin);
    assert.equal(fleet.versions, [{ version: '4230.2.2', machines: 1 }]);
    const resume = await app.request('/api/v1/updates/groups/default/resume', {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN}` },
    });
    assert.is(resume.status, 200);
    assert.is(verdict(await (await post(omahaXml(machineIdFor(1)))).text()).status, 'ok');
    const one = (await (await read('/api/v1/machines/52-54-00-00-00-01/update')).json()) as {
      state: string;
    };
    assert.is(one.state, 'offered');
    assert.is((await read('/api/v1/machines/52:54:00:00:00:99/update')).status, 404);
    const text = await metrics.registry.metrics();
    assert.match(text, /railyard_update_checks_total\{result="offer"\} 1/);
    assert.match(text, /railyard_update_noupdate_total\{reason="paused"\} 1/);
    assert.match(text, /railyard_update_machines\{version="4230.2.2"\} 1/);
    assert.match(text, /railyard_update_slots_in_use\{group="default"\} 1/);
    assert.is(
      (
        await app.request('/api/v1/updates/groups/nope/pause', {
          method: 'POST',
          headers: { Authorization: `Bearer ${ADMIN}` },
        })
      ).status,
      404,
    );
  }));

test.run();
