// The dashboard's update section and pause forms: rollouts, versions and clients on /ui, the
// machine page's update record, the pause switch for signed-in admins only, same-origin only.
import { join } from 'node:path';
import { Hono } from 'hono';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../log.ts';
import { MirrorCatalog } from '../mirror/catalog.ts';
import { Dashboard } from '../ui/dashboard.ts';
import { ImageProgress } from '../ui/progress.ts';
import { UiTemplates } from '../ui/templates.ts';
import { fleetView } from '../updates/fleet.ts';
import { machineIdFor, omahaXml, type UpdateLab, updateLab } from '../updates/testing.ts';
import type { AppEnv } from './app.ts';
import { onError } from './errors.ts';
import { ADMIN_COOKIE } from './ui-auth.ts';
import { uiRoutes } from './ui-routes.ts';
import { updateUiRoutes } from './update-ui-routes.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const MAC = '52:54:00:00:00:01';

async function withUi(fn: (lab: UpdateLab, app: Hono<AppEnv>) => Promise<void>) {
  const lab = updateLab({
    profiles: { workers: { channel: 'stable', updates: { version: '4230.2.3', maxConcurrent: 2 } } },
    groups: { default: { profile: 'workers' } },
  });
  const dashboard = new Dashboard({
    store: lab.store,
    boot: { preview: async () => undefined },
    mirror: new MirrorCatalog(join(lab.dir, 'mirror')),
    progress: new ImageProgress(),
    staleAfterMs: 86_400_000,
    updates: { fleet: () => fleetView(lab.fleet), forMac: (mac) => lab.updates.forMac(mac) },
  });
  const app = new Hono<AppEnv>();
  app.onError(onError(silentLogger()));
  const ui = { dashboard, templates: new UiTemplates(), adminToken: ADMIN };
  uiRoutes(app, ui);
  updateUiRoutes(app, ui, lab.fleet);
  try {
    await fn(lab, app);
  } finally {
    await lab.close();
  }
}

test('the fleet page shows rollouts, the version histogram and every client; the machine page its update', () =>
  withUi(async (lab, app) => {
    await lab.installed(MAC, machineIdFor(1));
    await lab.ask(omahaXml(machineIdFor(1)));
    await lab.ask(omahaXml(machineIdFor(0xbad), { version: '4230.2.3' }));
    const html = await (await app.request('/ui/live')).text();
    assert.match(html, /<tr data-group="default">/);
    assert.match(html, /4230\.2\.3 \(4230\.2\.3\)/);
    assert.match(html, /<td class="slots">1 &#x2F; 2<\/td>/, 'one of two slots in use');
    assert.match(html, /<tr data-version="4230.2.2"><th scope="row">4230.2.2<\/th><td>1<\/td>/);
    assert.match(html, new RegExp(`<tr data-machine-id="${machineIdFor(1)}" data-update-state="offered">`));
    assert.match(html, /unknown 000000000000…/);
    const page = await (await app.request(`/ui/machines/${MAC}`)).text();
    assert.match(page, /<dd id="update-state">offered<\/dd>/);
    assert.match(page, /<dd id="update-target">4230\.2\.3<\/dd>/);
  }));

test('pause/resume forms: signed-in admins only, same origin only', () =>
  withUi(async (lab, app) => {
    const post = (path: string, headers: Record<string, string> = {}) =>
      app.request(path, { method: 'POST', headers });
    assert.is((await post('/ui/updates/groups/default/pause')).status, 401);
    const cookie = { Cookie: `${ADMIN_COOKIE}=${ADMIN}` };
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
    assert.match(await (await app.request('/ui/live')).text(), /paused by admin \(dashboard\)/);
    assert.is((await post('/ui/updates/pause', cookie)).status, 303);
    assert.match(await (await app.request('/ui/live')).text(), /id="updates-paused-all"/);
    await post('/ui/updates/resume', cookie);
    await post('/ui/updates/groups/default/resume', cookie);
    assert.equal(await lab.updates.pauses(), []);
  }));

test.run();
