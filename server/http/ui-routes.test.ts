// The dashboard in-process: pages and fragments over a store with machines in every state,
// HTML escaping of machine data, the iPXE preview (records nothing), sign-in cookie and
// the reprovision form with its CSRF checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testApp } from '../testing/fixtures.ts';
import { SEEDED, seedMachines } from '../ui/fixtures/seed.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const NOW = Date.parse('2026-06-01T12:00:00Z');

async function setup() {
  const t = testApp({ adminToken: ADMIN, now: () => NOW });
  await seedMachines(t.store, NOW);
  return t;
}

const form = (body: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(body).toString(),
});

test('the fleet page: a row per machine with state text, timeline segments, summary, mirror', async () => {
  const t = await setup();
  const res = await t.app.request('/ui');
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', 'text/html');
  assert.match(res.headers.get('content-security-policy') ?? '', "script-src 'self'");
  const html = await res.text();
  assert.match(html, '<html lang="en">');
  for (const m of SEEDED) {
    assert.match(html, `<tr data-mac="${m.mac}" data-state="${m.state}">`);
    assert.match(html, m.hostname);
  }
  assert.match(html, '<th scope="col">Timeline (latest install)</th>');
  assert.match(
    html,
    /class="seg phase-install running" style="width: [\d.]+%" title="install: 1 m 20 s \(running\)"/,
  );
  assert.match(html, 'title="disk-boot: 1 m 25 s"');
  assert.match(html, /<tr data-state="provisioned"><th scope="row">.*<\/th><td>3<\/td>/);
  assert.match(html, '<dd id="ttp-median">5 m 52 s</dd>');
  assert.match(html, '<dd id="ttp-p90">8 m 4 s</dd>');
  assert.match(html, '<caption>stable&#x2F;amd64-usr: current → 9999.0.0</caption>');
  assert.match(html, 'The mirror has never been refreshed');
  assert.match(html, '<noscript><meta http-equiv="refresh" content="15"></noscript>');
  const live = await (await t.app.request('/ui/live')).text();
  assert.not.match(live, '<html');
  assert.match(live, `data-mac="${SEEDED[4]?.mac}"`);
  t.cleanup();
});

test('the hand-off: method in the fleet table (reason as its title), method and reason on the machine page', async () => {
  const t = testApp({ now: () => NOW });
  const mac = '52:54:00:00:00:42';
  const at = (s: number) => new Date(NOW - 60_000 + s * 1000).toISOString();
  await t.store.recordEvent(mac, { type: 'install-script-served', source: 'http', at: at(0) });
  await t.store.recordEvent(mac, { type: 'installed', source: 'installer', at: at(20) });
  const reason = 'kexec-load-disabled: /proc/sys/kernel/kexec_load_disabled is 1';
  await t.store.recordEvent(mac, {
    type: 'handoff',
    source: 'installer',
    at: at(21),
    data: { method: 'reboot', reason },
  });
  const fleet = await (await t.app.request('/ui')).text();
  assert.match(fleet, '<th scope="col">Hand-off</th>');
  assert.match(
    fleet,
    `<span class="handoff handoff-reboot" title="${reason.replaceAll('/', '&#x2F;')}">reboot</span>`,
  );
  assert.match(fleet, 'data-phase="handoff"');
  const page = await (await t.app.request(`/ui/machines/${mac}`)).text();
  assert.match(
    page,
    /<dd id="machine-handoff"><span class="handoff handoff-reboot">reboot<\/span> <span class="reason">\(kexec-load-disabled: /,
  );
  const other = '52:54:00:00:00:43';
  await t.store.recordEvent(other, { type: 'installed', source: 'installer', at: at(30) });
  assert.match(
    await (await t.app.request(`/ui/machines/${other}`)).text(),
    '<span class="muted">not reported</span>',
  );
  t.cleanup();
});

test('machine data is HTML-escaped everywhere', async () => {
  const t = testApp();
  const evil = '<img src=x onerror=alert(1)>';
  await t.store.recordEvent(
    '52:54:00:00:00:99',
    { type: 'install-failed', source: 'installer', data: { exitCode: 1, output: evil } },
    { facts: { hostname: evil } },
  );
  const pages = [await t.app.request('/ui'), await t.app.request('/ui/machines/52:54:00:00:00:99')];
  for (const res of pages) {
    const html = await res.text();
    assert.not.match(html, '<img');
    assert.match(html, '&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
  }
  t.cleanup();
});

test('machine page: events, phases, and the iPXE preview without recording an event', async () => {
  const t = await setup();
  const mac = SEEDED[0]!.mac;
  const before = (await t.store.events(mac)).length;
  const html = await (await t.app.request(`/ui/machines/${mac.replace(/:/g, '-')}`)).text();
  assert.match(html, '<code id="script-kind">local-boot</code>');
  assert.match(html, 'sanboot --no-describe --drive 0x80');
  assert.match(html, '<td>first-boot</td>');
  assert.match(html, 'Sign in with the admin token');
  assert.is((await t.store.events(mac)).length, before);
  const installing = await (await t.app.request(`/ui/machines/${SEEDED[4]!.mac}/live`)).text();
  assert.match(installing, '<code id="script-kind">install</code>');
  assert.match(installing, 'initrd --name railyard-installer.cpio.gz');
  assert.is((await t.app.request('/ui/machines/52:54:00:00:00:00')).status, 404);
  t.cleanup();
});

test('sign in: wrong token refused, right token sets an HttpOnly SameSite=Strict cookie', async () => {
  const t = await setup();
  const wrong = await t.app.request('/ui/login', form({ token: 'nope', next: '/ui' }));
  assert.is(wrong.status, 401);
  assert.match(await wrong.text(), 'Wrong admin token.');
  const ok = await t.app.request('/ui/login', form({ token: ADMIN, next: 'https://evil.example/' }));
  assert.is(ok.status, 303);
  assert.is(ok.headers.get('location'), '/ui');
  const cookie = ok.headers.get('set-cookie') ?? '';
  assert.match(cookie, /^railyard_admin=/);
  for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/']) assert.match(cookie, attr);
  const cross = await t.app.request('/ui/login', form({ token: ADMIN }, { 'sec-fetch-site': 'cross-site' }));
  assert.is(cross.status, 403);
  t.cleanup();
});

test('reprovision form: needs the cookie, refuses cross-site posts, then records the request', async () => {
  const t = await setup();
  const mac = SEEDED[0]!.mac;
  const url = `/ui/machines/${mac}/reprovision`;
  const cookie = `railyard_admin=${encodeURIComponent(ADMIN)}`;
  assert.is((await t.app.request(url, form({}))).status, 401);
  assert.is(
    (await t.app.request(url, form({}, { cookie: 'railyard_admin=wrong-token-000000' }))).status,
    401,
  );
  const cross = await t.app.request(url, form({}, { cookie, origin: 'http://evil.example' }));
  assert.is(cross.status, 403);
  assert.is((await t.store.getMachine(mac))?.state, 'provisioned');
  const ok = await t.app.request(
    url,
    form({}, { cookie, origin: 'http://localhost', 'sec-fetch-site': 'same-origin' }),
  );
  assert.is(ok.status, 303);
  assert.is(ok.headers.get('location'), `/ui/machines/${mac}?notice=reprovision`);
  assert.is((await t.store.getMachine(mac))?.state, 'reprovision-requested');
  const page = await (
    await t.app.request(`/ui/machines/${mac}?notice=reprovision`, { headers: { cookie } })
  ).text();
  assert.match(page, 'Reprovision requested');
  assert.match(page, 'Signed in as admin');
  t.cleanup();
});

test('static files are served by railyard itself', async () => {
  const t = testApp();
  const css = await t.app.request('/ui/static/app.css');
  assert.is(css.status, 200);
  assert.match(css.headers.get('content-type') ?? '', 'text/css');
  const etag = css.headers.get('etag') ?? '';
  assert.is((await t.app.request('/ui/static/app.css', { headers: { 'if-none-match': etag } })).status, 304);
  assert.match(await (await t.app.request('/ui/static/app.js')).text(), 'data');
  assert.is((await t.app.request('/ui/static/nope.js')).status, 404);
  assert.is((await t.app.request('/')).headers.get('location'), '/ui');
  t.cleanup();
});

test.run();
