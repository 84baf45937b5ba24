// The dashboard in a real browser: Debian's chromium driven by playwright-core (no browser
// download) against a real railyard HTTP server on 127.0.0.1, seeded with machines in every
// state. Sign-in through a one-time link, rows, timeline segments, a live update without
// reload, an in-progress image download; with JavaScript off: sign-in with the token,
// reprovision and sign-out through the plain HTML forms; a screenshot for the README
// (docs/dashboard.png).
import { existsSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT } from '../config.ts';
import { type HttpListener, listenHttp } from '../http/listener.ts';
import { publishRelease, type TestApp, testApp } from '../testing/fixtures.ts';
import { SEEDED, seedMachines } from './fixtures/seed.ts';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = 'admin-token-0123456789abcdef';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const IMAGE = 'flatcar_production_image.bin.bz2';
/** UPDATE_SCREENSHOT=1 refreshes the README's picture; otherwise it goes to a temp file. */
const SCREENSHOT = process.env['UPDATE_SCREENSHOT']
  ? join(PACKAGE_ROOT, 'docs/dashboard.png')
  : join(tmpdir(), `railyard-dashboard-${process.pid}.png`);

if (!existsSync(CHROMIUM)) {
  test.skip(`dashboard in chromium (SKIPPED: ${CHROMIUM} missing; apt-get install chromium)`, () => {});
  console.log(`dashboard browser test skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
} else {
  browserTests();
}
test.run();

function browserTests(): void {
  let t: TestApp;
  const installing = SEEDED.find((m) => m.state === 'installing')!;
  const provisioned = SEEDED.find((m) => m.state === 'provisioned')!;
  const fresh = SEEDED.find((m) => m.state === 'new')!;
  const profiles: string[] = [];
  let listener: HttpListener;
  let base = '';
  let download: IncomingMessage | undefined;

  const open = async (javaScriptEnabled: boolean): Promise<BrowserContext> => {
    const dir = mkdtempSync(join(tmpdir(), 'railyard-chromium-'));
    profiles.push(dir);
    return chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      javaScriptEnabled,
      viewport: { width: 1440, height: 1000 },
    });
  };

  test.before(async () => {
    t = await testApp({ adminToken: ADMIN });
    await seedMachines(t.store, Date.now(), t.credentials);
    seedMirror(t.dataDir);
    listener = await listenHttp(t.app, { host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${listener.address.port}`;
    download = await startImageDownload(base, installing.mac, await t.installToken(installing.mac));
  });

  test.after(async () => {
    download?.destroy();
    await listener.stop(Date.now());
    for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
    if (!process.env['UPDATE_SCREENSHOT']) rmSync(SCREENSHOT, { force: true });
    t.cleanup();
  });

  test('rows, timeline segments, progress, screenshot, and a live update without reload', async () => {
    const context = await open(true);
    try {
      const page = await context.newPage();
      await page.goto(`${base}/ui`);
      assert.is(new URL(page.url()).pathname, '/ui/login', 'reading needs a sign-in');
      await page.goto(`${base}/ui/login?link=${t.access.links.create(60_000)}&next=/ui`);
      await page.getByRole('button', { name: 'Sign in with this link' }).click();
      assert.is(new URL(page.url()).pathname, '/ui');
      const [cookie] = await context.cookies(base);
      assert.is(cookie?.name, 'railyard_session');
      assert.not.match(cookie?.value ?? '', ADMIN);
      for (const m of SEEDED) {
        const row = page.locator(`table.machines tr[data-mac="${m.mac}"]`);
        assert.is(await row.locator('.state').textContent(), m.state);
        assert.match((await row.textContent()) ?? '', m.hostname);
      }
      const segs = page.locator(`tr[data-mac="${provisioned.mac}"] .bar .seg`);
      assert.equal(await segs.evaluateAll((els) => els.map((e) => e.getAttribute('data-phase'))), [
        'script',
        'download',
        'installer',
        'install',
        'reboot',
        'disk-boot',
      ]);
      assert.match((await segs.nth(3).getAttribute('title')) ?? '', /^install: 2 m 22 s$/);
      const bar = await page.locator(`tr[data-mac="${provisioned.mac}"] .bar`).boundingBox();
      const widths = await segs.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
      const sum = widths.reduce((a, b) => a + b, 0);
      assert.ok(bar && Math.abs(sum - (bar.width - 2)) < 3, `segments fill the bar: ${sum} of ${bar?.width}`);
      assert.ok((widths[3] ?? 0) > (widths[0] ?? 0) * 5, 'install is much wider than script');
      assert.is(await page.locator(`tr[data-mac="${installing.mac}"] .seg.running`).count(), 1);
      const progress = page.locator(`table.progress tr[data-mac="${installing.mac}"] progress`);
      assert.ok(Number(await progress.getAttribute('value')) > 0, 'image bytes served so far');
      assert.is(await page.locator('#mirror-warning').count(), 0);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      assert.ok(statSync(SCREENSHOT).size > 10_000, 'a real screenshot');

      await page.evaluate(() => {
        (globalThis as unknown as { marker: number }).marker = 42;
      });
      await t.store.recordEvent(fresh.mac, { type: 'install-script-served', source: 'http' });
      await page.waitForSelector(`table.machines tr[data-mac="${fresh.mac}"][data-state="installing"]`, {
        timeout: 10_000,
      });
      assert.is(
        await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker),
        42,
        'no reload',
      );
      assert.match((await page.locator('#live-status').textContent()) ?? '', 'Live');
    } finally {
      await context.close();
    }
  });

  test('without JavaScript: readable tables, sign-in and reprovision through the forms', async () => {
    const context = await open(false);
    try {
      const page = await context.newPage();
      await page.goto(`${base}/ui/machines/${provisioned.mac}`);
      assert.is(new URL(page.url()).pathname, '/ui/login', 'redirected to sign in');
      await page.getByLabel('Admin token').fill('not-the-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      assert.match((await page.locator('[role=alert]').textContent()) ?? '', 'Wrong admin token');
      await page.getByLabel('Admin token').fill(ADMIN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      assert.is(new URL(page.url()).pathname, `/ui/machines/${provisioned.mac}`);
      assert.match((await page.locator('#ipxe-script').textContent()) ?? '', 'sanboot');
      const [cookie] = await context.cookies(base);
      assert.is(cookie?.name, 'railyard_session');
      assert.ok(cookie?.httpOnly);
      assert.is(cookie?.sameSite, 'Strict');
      assert.ok((cookie?.expires ?? 0) > Date.now() / 1000, 'the cookie expires');
      await page.getByRole('button', { name: `Reprovision ${provisioned.mac}` }).click();
      assert.match((await page.locator('.notice').textContent()) ?? '', 'Reprovision requested');
      assert.is(await page.locator('#machine-state').textContent(), 'reprovision-requested');
      assert.is((await t.store.getMachine(provisioned.mac))?.state, 'reprovision-requested');
      await page.goto(`${base}/ui`);
      assert.is(await page.locator('table.machines tbody tr').count(), SEEDED.length);
      assert.is(await page.locator('noscript meta[http-equiv="refresh"]').count(), 1);
      await page.getByRole('button', { name: 'Sign out' }).click();
      assert.is(new URL(page.url()).pathname, '/ui/login');
      await page.goto(`${base}/ui`);
      assert.is(new URL(page.url()).pathname, '/ui/login', 'signed out: reading needs a sign-in again');
    } finally {
      await context.close();
    }
  });
}

/** A second board and a successful refresh an hour ago, so the mirror section has content. */
function seedMirror(dataDir: string): void {
  const mirror = join(dataDir, 'mirror');
  const dir = publishRelease(mirror, 'stable', 'amd64-usr', '9999.1.0');
  writeFileSync(join(dir, IMAGE), Buffer.alloc(64 * 1024 * 1024, 3));
  publishRelease(mirror, 'beta', 'arm64-usr', '9999.2.0');
  symlinkSync('9999.0.0', join(mirror, 'stable/amd64-usr/current-2025'));
  const finishedAt = new Date(Date.now() - 3600_000).toISOString();
  const lastRefresh = { finishedAt, ok: true, bytes: 512 * 1024 * 1024, seconds: 84 };
  writeFileSync(join(mirror, '.status.json'), JSON.stringify({ lastRefresh, lastSuccess: finishedAt }));
}

/**
 * The installing machine reports from 127.0.0.1 (which ties that address to its MAC), then
 * starts downloading the image and stops reading: the server has sent part of it.
 */
async function startImageDownload(base: string, mac: string, token: string): Promise<IncomingMessage> {
  const res = await fetch(`${base}/api/v1/machines/${mac}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'progress', bytes: 0 }),
  });
  assert.is(res.status, 201);
  const url = `${base}/mirror/stable/amd64-usr/current/${IMAGE}`;
  return new Promise((resolve, reject) => {
    get(url, (response) => {
      response.once('data', () => {
        response.pause();
        setTimeout(() => resolve(response), 300);
      });
    }).once('error', reject);
  });
}
