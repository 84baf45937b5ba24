// The dashboard in-process: pages and fragments over a store with machines in every state,
// HTML escaping of machine data, the iPXE preview (records nothing), sign-in sessions,
// one-time links, the login rate limit and the reprovision form with its CSRF checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { testApp } from '../testing/fixtures.ts';
import { SEEDED, seedMachines } from '../ui/fixtures/seed.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const NOW = Date.parse('2026-06-01T12:00:00Z');

async function setup(options: Parameters<typeof testApp>[0] = {}) {
  const t = await testApp({ adminToken: ADMIN, now: () => NOW, ...options });
  await seedMachines(t.store, NOW);
  const session = await t.sessionHeaders();
  const get = (path: string, headers: Record<string, string> = session) => t.app.request(path, { headers });
  return { ...t, session, get };
}

const cookieOf = (res: Response) => /railyard_session=([^;]*)/.exec(res.headers.get('set-cookie') ?? '')?.[1];

const form = (body: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(body).toString(),
});

test('the fleet page: a row per machine with state text, timeline segments, summary, mirror', async () => {
  const t = await setup();
  const res = await t.get('/ui');
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
  const live = await (await t.get('/ui/live')).text();
  assert.not.match(live, '<html');
  assert.match(live, `data-mac="${SEEDED[4]?.mac}"`);
  t.cleanup();
});

test('the hand-off: method in the fleet table (reason as its title), method and reason on the machine page', async () => {
  const t = await setup();
  const [, rebooted, kexeced, installed] = SEEDED;
  const reason = 'kexec-load-disabled: /proc/sys/kernel/kexec_load_disabled is 1';
  const fleet = await (await t.get('/ui')).text();
  assert.match(fleet, '<th scope="col">Hand-off</th>');
  assert.match(
    fleet,
    `<span class="handoff handoff-reboot" title="${reason.replaceAll('/', '&#x2F;')}">reboot</span>`,
  );
  assert.match(fleet, '<span class="handoff handoff-kexec">kexec</span>');
  assert.match(fleet, 'data-phase="handoff"');
  const page = await (await t.get(`/ui/machines/${rebooted?.mac}`)).text();
  assert.match(
    page,
    /<dd id="machine-handoff"><span class="handoff handoff-reboot">reboot<\/span> <span class="reason">\(kexec-load-disabled: /,
  );
  assert.match(
    await (await t.get(`/ui/machines/${kexeced?.mac}`)).text(),
    '<dd id="machine-handoff"><span class="handoff handoff-kexec">kexec</span></dd>',
  );
  assert.match(
    await (await t.get(`/ui/machines/${installed?.mac}`)).text(),
    '<span class="muted">not reported</span>',
  );
  t.cleanup();
});

test('machine data is HTML-escaped everywhere', async () => {
  const t = await testApp();
  const headers = await t.sessionHeaders();
  const evil = '<img src=x onerror=alert(1)>';
  await t.store.recordEvent(
    canonicalMac('52:54:00:00:00:99'),
    { type: 'install-failed', source: 'installer', data: { exitCode: 1, output: evil } },
    { facts: { hostname: evil } },
  );
  const pages = [
    await t.app.request('/ui', { headers }),
    await t.app.request('/ui/machines/52:54:00:00:00:99', { headers }),
  ];
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
  const html = await (await t.get(`/ui/machines/${mac.replace(/:/g, '-')}`)).text();
  assert.match(html, '<code id="script-kind">local-boot</code>');
  assert.match(html, 'sanboot --no-describe --drive 0x80');
  assert.match(html, '<td>first-boot</td>');
  assert.match(html, 'id="reprovision"');
  assert.is((await t.store.events(mac)).length, before);
  const installing = await (await t.get(`/ui/machines/${SEEDED[4]!.mac}/live`)).text();
  assert.match(installing, '<code id="script-kind">install</code>');
  assert.match(installing, 'initrd --name railyard-installer.cpio.gz');
  assert.is((await t.get('/ui/machines/52:54:00:00:00:00')).status, 404);
  t.cleanup();
});

test('reads need a sign-in: pages redirect, fragments and the API answer 401; ui.public opens reads', async () => {
  const t = await setup();
  const page = await t.get('/ui/machines/52:54:00:00:00:01', {});
  assert.is(page.status, 303);
  assert.is(page.headers.get('location'), '/ui/login?next=%2Fui%2Fmachines%2F52%3A54%3A00%3A00%3A00%3A01');
  assert.is((await t.get('/ui', {})).status, 303);
  assert.is((await t.get('/ui/live', {})).status, 401);
  const api = await t.get('/api/v1/machines', {});
  assert.is(api.status, 401);
  assert.is(api.headers.get('www-authenticate'), 'Bearer realm="railyard"');
  assert.is((await t.get(`/api/v1/machines/${SEEDED[0]!.mac}`, {})).status, 401);
  assert.is(
    (await t.get('/api/v1/machines', { authorization: 'Bearer wrong-token-0000000000' })).status,
    401,
  );
  assert.is((await t.get('/api/v1/machines', { authorization: `Bearer ${ADMIN}` })).status, 200);
  assert.is((await t.get('/api/v1/machines')).status, 200); // the session cookie works for the API too
  assert.is((await t.get('/ui/login', {})).status, 200);
  assert.is((await t.get('/ui/static/app.css', {})).status, 200);
  const open = await setup({ publicRead: true });
  const fleet = await open.get('/ui', {});
  assert.is(fleet.status, 200);
  const html = await fleet.text();
  assert.match(html, 'Sign in');
  assert.not.match(html, 'Signed in as admin');
  assert.is((await open.get('/api/v1/machines', {})).status, 200);
  // Writes still need the admin credential.
  const mac = SEEDED[0]!.mac;
  assert.is((await open.app.request(`/ui/machines/${mac}/reprovision`, form({}))).status, 401);
  assert.is((await open.app.request(`/api/v1/machines/${mac}/reprovision`, { method: 'POST' })).status, 401);
  assert.is((await open.store.getMachine(mac))?.state, 'provisioned');
  t.cleanup();
  open.cleanup();
});

test('sign in: wrong token refused; the cookie holds a random session id, never the token', async () => {
  const t = await setup();
  const wrong = await t.app.request('/ui/login', form({ token: 'nope', next: '/ui' }));
  assert.is(wrong.status, 401);
  assert.match(await wrong.text(), 'Wrong admin token.');
  assert.is(cookieOf(wrong), undefined);
  const ok = await t.app.request('/ui/login', form({ token: ADMIN, next: 'https://evil.example/' }));
  assert.is(ok.status, 303);
  assert.is(ok.headers.get('location'), '/ui');
  const cookie = ok.headers.get('set-cookie') ?? '';
  for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=43200']) assert.match(cookie, attr);
  assert.not.match(cookie, 'Secure');
  const id = cookieOf(ok) ?? '';
  assert.match(id, /^[A-Za-z0-9_-]{43}$/);
  assert.not.match(cookie, ADMIN);
  const again = await t.app.request('/ui/login', form({ token: ADMIN }));
  assert.is.not(cookieOf(again), id);
  const cross = await t.app.request('/ui/login', form({ token: ADMIN }, { 'sec-fetch-site': 'cross-site' }));
  assert.is(cross.status, 403);
  const https = await t.app.request('/ui/login', form({ token: ADMIN }, { 'x-forwarded-proto': 'https' }));
  assert.match(https.headers.get('set-cookie') ?? '', 'Secure');
  t.cleanup();
});

test('sessions: sign-out invalidates the id, expiry ends it, a new admin token ends all', async () => {
  let now = NOW;
  const t = await setup({ now: () => now, sessionTtlMs: 3_600_000 });
  const login = await t.app.request('/ui/login', form({ token: ADMIN }));
  const headers = { cookie: `railyard_session=${cookieOf(login)}` };
  assert.is((await t.get('/ui', headers)).status, 200);
  now += 3_599_000;
  assert.is((await t.get('/ui', headers)).status, 200);
  now += 2_000;
  assert.is((await t.get('/ui', headers)).status, 303, 'expired after ui.sessionTtl');
  now = NOW;
  const second = await t.app.request('/ui/login', form({ token: ADMIN }));
  const h2 = { cookie: `railyard_session=${cookieOf(second)}` };
  assert.is((await t.get('/ui/live', h2)).status, 200);
  const out = await t.app.request('/ui/logout', form({}, h2));
  assert.is(out.status, 303);
  assert.match(out.headers.get('set-cookie') ?? '', /railyard_session=;.*Max-Age=0/);
  assert.is((await t.get('/ui/live', h2)).status, 401, 'the old id is dead after sign-out');
  // The same store under another admin token: the session is not valid any more.
  const third = cookieOf(await t.app.request('/ui/login', form({ token: ADMIN })));
  const rotated = await testApp({
    adminToken: 'another-admin-token-0123456789',
    store: t.store,
    now: () => now,
  });
  assert.is(
    (await rotated.app.request('/ui/live', { headers: { cookie: `railyard_session=${third}` } })).status,
    401,
  );
  rotated.cleanup();
  t.cleanup();
});

test('failed sign-ins are rate-limited per client: 429 with Retry-After, even for the right token', async () => {
  let now = NOW;
  const t = await setup({ now: () => now });
  for (let i = 0; i < 5; i++)
    assert.is((await t.app.request('/ui/login', form({ token: `wrong-${i}` }))).status, 401);
  const blocked = await t.app.request('/ui/login', form({ token: ADMIN }));
  assert.is(blocked.status, 429);
  assert.is(blocked.headers.get('retry-after'), '60');
  assert.is(cookieOf(blocked), undefined);
  // The API's admin bearer counts against the same limit.
  assert.is((await t.get('/api/v1/machines', { authorization: `Bearer ${ADMIN}` })).status, 429);
  now += 61_000;
  assert.is((await t.app.request('/ui/login', form({ token: ADMIN }))).status, 303);
  t.cleanup();
});

test('a one-time sign-in link creates one session, once', async () => {
  const t = await setup();
  const link = t.access.links.create(60_000);
  const shown = await t.get(`/ui/login?link=${link}`, {});
  assert.match(await shown.text(), `name="link" value="${link}"`);
  const used = await t.app.request('/ui/login', form({ link, next: '/ui/machines/52:54:00:00:00:01' }));
  assert.is(used.status, 303);
  assert.is(used.headers.get('location'), '/ui/machines/52:54:00:00:00:01');
  assert.ok(cookieOf(used));
  const reused = await t.app.request('/ui/login', form({ link }));
  assert.is(reused.status, 401);
  assert.match(await reused.text(), 'already used or has expired');
  t.cleanup();
});

test('a sign-in body over 64 KiB is refused with 413 before it is read', async () => {
  const t = await setup();
  const big = `token=${'x'.repeat(70 * 1024)}`;
  const res = await t.app.request('/ui/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(big.length) },
    body: big,
  });
  assert.is(res.status, 413);
  t.cleanup();
});

test('Host names that railyard is not reached by are refused (DNS rebinding)', async () => {
  const t = await setup({ publicUrl: 'http://boot.lab.example:8080', allowedHosts: ['.ops.example'] });
  for (const host of [
    'boot.lab.example',
    'boot.lab.example.:8080',
    'localhost:8080',
    '10.1.2.3:8080',
    '[fd00::5]',
    'a.ops.example',
  ])
    assert.is.not((await t.app.request(`http://${host}/ui/live`, { headers: t.session })).status, 421, host);
  for (const host of ['evil.example', 'boot.lab.example.evil.example', 'opsXexample']) {
    const res = await t.app.request(`http://${host}/api/v1/machines`, { headers: t.adminHeaders });
    assert.is(res.status, 421, host);
    assert.match(await res.text(), 'http.allowedHosts');
    assert.is((await t.app.request(`http://${host}/ui/login`)).status, 421, host);
  }
  // Boot paths answer whatever the Host: iPXE may use any name or address.
  assert.is((await t.app.request('http://evil.example/boot.ipxe')).status, 200);
  t.cleanup();
});

test('reprovision form: needs a session, refuses cross-site posts, then records the request', async () => {
  const t = await setup();
  const mac = SEEDED[0]!.mac;
  const url = `/ui/machines/${mac}/reprovision`;
  const { cookie } = t.session as { cookie: string };
  assert.is((await t.app.request(url, form({}))).status, 401);
  assert.is(
    (await t.app.request(url, form({}, { cookie: `railyard_admin=${ADMIN}` }))).status,
    401,
    'the old token cookie is not a session',
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
  const page = await (await t.get(`/ui/machines/${mac}?notice=reprovision`)).text();
  assert.match(page, 'Reprovision requested');
  assert.match(page, 'Signed in as admin');
  t.cleanup();
});

test('static files are served by railyard itself', async () => {
  const t = await testApp();
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
