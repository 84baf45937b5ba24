// Two `railyard serve` instances on one real PostgreSQL (a region's database, two racks):
// a machine boots through A and reports through B, one timeline; a dashboard on B sees A's
// writes at once (LISTEN/NOTIFY); the database stopped and started under load (healthz
// unhealthy, iPXE never a 500, installed machines keep booting from disk, recovery with no
// manual step); kill -9 of A mid-install and B finishes the install.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from './testing/fixtures.ts';
import {
  installerCredentials,
  installerUrl,
  ipxe,
  LAB_ADMIN_TOKEN,
  report,
  startInstances,
} from './testing/instances.ts';
import { PG_PASSWORD, type PgCluster, startPostgres } from './testing/postgres.ts';
import type { Railyard } from './testing/spawn-railyard.ts';

const work = tempDir('railyard-multi-');
let cluster: PgCluster;
let a: Railyard;
let b: Railyard;

test.before(async () => {
  cluster = await startPostgres();
  [a, b] = (await startInstances(work.dir, cluster.url(), 2)) as [Railyard, Railyard];
});
test.after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await cluster?.stop();
  work.cleanup();
});

const mac = (i: number) => `52-54-00-aa-00-${i.toString(16).padStart(2, '0')}`;
const colon = (m: string) => m.replaceAll('-', ':');

async function timeline(base: string, m: string) {
  const res = await fetch(`${base}/api/v1/machines/${m}`, {
    headers: { Authorization: `Bearer ${LAB_ADMIN_TOKEN}` },
  });
  const body = (await res.json()) as {
    events: { type: string; source: string }[];
    machine: { state: string };
  };
  return body;
}

/** The installer download is recorded when its body is delivered: wait for the `n`th. */
async function fetched(base: string, m: string, n = 1) {
  const t0 = Date.now();
  const count = async () =>
    (await timeline(base, m)).events.filter((e) => e.type === 'installer-fetched').length;
  while ((await count()) < n && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
  assert.is(await count(), n, 'installer download recorded');
}

/** Install `m` through `via` (script and installer), reporting `installed` through `reportVia`. */
async function install(via: Railyard, reportVia: Railyard, m: string) {
  const served = await ipxe(via.url, m);
  assert.is(served.decision, 'install', served.text);
  const { token, reportPath } = await installerCredentials(installerUrl(served.text));
  await fetched(reportVia.url, m);
  assert.is(await report(reportVia.url, reportPath, token, { type: 'install-started' }), 201);
  assert.is(await report(reportVia.url, reportPath, token, { type: 'installed' }), 201);
}

test('ipxe via A, reports via B, the next ipxe via A boots from disk; one timeline with both', async () => {
  const m = mac(1);
  await install(a, b, m);
  const next = await ipxe(a.url, m);
  assert.is(next.decision, 'local-boot', next.text);
  for (const base of [a.url, b.url]) {
    const t = await timeline(base, m);
    assert.is(t.machine.state, 'provisioned', 'installed, then booted from disk');
    assert.equal(
      t.events.map((e) => `${e.type}/${e.source}`),
      [
        'install-script-served/http',
        'installer-fetched/http',
        'install-started/installer',
        'installed/installer',
        'disk-boot-script-served/http',
      ],
    );
  }
  for (const r of [a, b]) assert.not.match(r.output(), PG_PASSWORD);
});

test('a dashboard on B shows what A recorded without waiting for its page cache', async () => {
  const live = async () => (await fetch(`${b.url}/ui/live`)).text();
  const m = colon(mac(2));
  assert.not.match(await live(), m);
  const cachedAt = Date.now(); // B's fleet page is cached for 1 s from here
  assert.is((await ipxe(a.url, mac(2))).decision, 'install');
  let shown = false;
  while (!shown && Date.now() - cachedAt < 900) {
    shown = (await live()).includes(m);
    if (!shown) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(shown, `B's dashboard showed ${m} within ${Date.now() - cachedAt} ms (its cache lasts 1000 ms)`);
});

test('database stopped under load: unhealthy, never a 500 to iPXE, disk boots go on; back on its own', async () => {
  const installed = mac(3);
  await install(a, b, installed);
  assert.is((await ipxe(b.url, installed)).decision, 'local-boot'); // B has seen it installed too
  let stop = false;
  const answers: { status: number; decision: string | undefined }[] = [];
  const load = (async () => {
    for (let i = 0; !stop; i++) {
      const r = await ipxe(i % 2 ? a.url : b.url, mac(0x40 + (i % 32))).catch(() => ({
        status: 0,
        decision: 'fetch failed',
        text: '',
      }));
      answers.push({ status: r.status, decision: r.decision });
    }
  })();
  await new Promise((r) => setTimeout(r, 300));
  await cluster.halt();
  try {
    for (const r of [a, b]) {
      const health = await fetch(`${r.url}/healthz`);
      const body = (await health.json()) as { status: string; state: string };
      assert.is(health.status, 503);
      assert.is(body.status, 'unhealthy');
      assert.match(body.state, 'state store unavailable');
      assert.not.match(body.state, PG_PASSWORD);
      const disk = await ipxe(r.url, installed);
      assert.equal([disk.status, disk.decision], [200, 'local-boot'], disk.text);
      const fresh = await ipxe(r.url, mac(0x90));
      assert.equal([fresh.status, fresh.decision], [200, 'retry'], fresh.text);
      assert.match(fresh.text, 'railyard cannot record this boot right now');
    }
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await cluster.start();
  }
  const t0 = Date.now();
  for (const r of [a, b]) {
    while ((await fetch(`${r.url}/healthz`)).status !== 200 && Date.now() - t0 < 30_000)
      await new Promise((res) => setTimeout(res, 100));
    assert.is((await fetch(`${r.url}/healthz`)).status, 200, 'healthy again, no restart');
    assert.is(
      (await ipxe(r.url, mac(0x91 + (r === a ? 0 : 1)))).decision,
      'install',
      'decisions recorded again',
    );
  }
  stop = true;
  await load;
  assert.ok(answers.length > 10, `load ran (${answers.length} requests)`);
  assert.ok(
    answers.every((x) => x.status === 200),
    `only 200s: ${JSON.stringify(answers.filter((x) => x.status !== 200))}`,
  );
  assert.ok(
    answers.some((x) => x.decision === 'retry'),
    'some boots came while the database was away',
  );
  for (const r of [a, b]) assert.not.match(r.output(), /"status":500/);
});

test('kill -9 of A mid-install: B serves the same installer and finishes the install flow', async () => {
  const m = mac(4);
  const served = await ipxe(a.url, m);
  assert.is(served.decision, 'install');
  const url = installerUrl(served.text);
  const first = await installerCredentials(url);
  await fetched(b.url, m);
  assert.is(await report(a.url, first.reportPath, first.token, { type: 'install-started' }), 201);
  a.child.kill('SIGKILL');
  await a.stop();
  // The installer retries its download through the other rack: same attempt, same token.
  const again = await installerCredentials(url.replace(a.url, b.url));
  assert.equal(again, first);
  await fetched(b.url, m, 2);
  assert.is(await report(b.url, first.reportPath, first.token, { type: 'progress', bytes: 1 << 20 }), 201);
  assert.is(await report(b.url, first.reportPath, first.token, { type: 'installed' }), 201);
  assert.is((await ipxe(b.url, m)).decision, 'local-boot');
  const t = await timeline(b.url, m);
  assert.equal(
    t.events.map((e) => e.type),
    [
      'install-script-served',
      'installer-fetched',
      'install-started',
      'installer-fetched',
      'progress',
      'installed',
      'disk-boot-script-served',
    ],
  );
});

test.run();
