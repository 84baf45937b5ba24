// The dashboard at 10,000 machines, over real HTTP against a SQLite state file: every page
// costs the same number of store queries as at 10 machines (none per machine), the
// fleet page, a later page, the live fragment and a machine page each answer in under
// 200 ms (median of repeated requests), and the table is paginated.
import { get } from 'node:http';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type HttpListener, listenHttp } from '../http/listener.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import type { StateStore } from '../store/state-store.ts';
import { tempDir, testApp } from '../testing/fixtures.ts';
import { seedFleet } from './fixtures/seed.ts';
import { PAGE_SIZE } from './overview.ts';

const FLEET = 10_000;
const NOW = Date.now();

/** Counts every call on the store and its fleet queries. */
function counted(store: StateStore): { store: StateStore; calls: () => number; reset: () => void } {
  let n = 0;
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop) {
        const v = Reflect.get(t, prop, t) as unknown;
        if (prop === 'fleet' || prop === 'sessions') return wrap(v as object);
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (prop !== 'recordEvent') n++;
          return (v as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    });
  const reset = () => {
    n = 0;
  };
  return { store: wrap(store), calls: () => n, reset };
}

function fetchTimed(url: string, cookie: string): Promise<{ status: number; ms: number; body: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    get(url, { headers: { cookie } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body }));
    }).on('error', reject);
  });
}

async function queriesPerPage(size: number): Promise<number> {
  const tmp = tempDir('railyard-fleet-');
  const c = counted(openSqliteStore(join(tmp.dir, 'state.db')));
  await seedFleet(c.store, size, NOW);
  const t = await testApp({ store: c.store });
  const cookie = (await t.sessionHeaders())['cookie'] as string;
  c.reset();
  await t.app.request('/ui', { headers: { cookie } });
  const n = c.calls();
  await c.store.close();
  t.cleanup();
  tmp.cleanup();
  return n;
}

test('a fleet page costs a bounded number of store queries, not one per machine', async () => {
  const small = await queriesPerPage(10);
  const medium = await queriesPerPage(500);
  const large = await queriesPerPage(2000);
  assert.is(small, medium, `${small} queries at 10 machines, ${medium} at 500`);
  assert.is(large, medium, `${medium} queries at 500 machines, ${large} at 2000`);
  // Counts, 2 pages, the events of their latest attempts, the open attempts of the
  // installing ones, the latest provisioned attempts with their events; the sign-in checks
  // look the session up (3 times).
  assert.ok(large <= 9, `${large} queries`);
});

test(`${FLEET} machines: fleet page, page 60, live fragment and a machine page under 200 ms`, async () => {
  const tmp = tempDir('railyard-fleet-');
  const store = openSqliteStore(join(tmp.dir, 'state.db'));
  const t0 = Date.now();
  await seedFleet(store, FLEET, NOW);
  console.log(`  seeded ${FLEET} machines in ${Date.now() - t0} ms`);
  const t = await testApp({ store, dashboardCacheMs: 0 }); // every request builds its page
  let listener: HttpListener | undefined;
  try {
    listener = await listenHttp(t.app, { host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${listener.address.port}`;
    const cookie = (await t.sessionHeaders())['cookie'] as string;
    const first = await fetchTimed(`${base}/ui`, cookie);
    assert.is(first.status, 200);
    assert.match(first.body, `Machines 1–${PAGE_SIZE} of ${FLEET}`);
    assert.is((first.body.match(/<tr data-mac="[^"]+" data-state=/g) ?? []).length, PAGE_SIZE);
    assert.match(first.body, 'more are installing');
    const later = await fetchTimed(`${base}/ui?page=60`, cookie);
    assert.match(later.body, `Machines 5901–6000 of ${FLEET}`);
    for (const path of ['/ui', '/ui?page=60', '/ui/live?page=100', '/ui/machines/02:00:00:00:13:88']) {
      const times: number[] = [];
      for (let i = 0; i < 15; i++) {
        const r = await fetchTimed(base + path, cookie);
        assert.is(r.status, 200, path);
        times.push(r.ms);
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)] as number;
      console.log(`  ${path}: median ${median.toFixed(1)} ms, max ${(times.at(-1) as number).toFixed(1)} ms`);
      assert.ok(median < 200, `${path}: median ${median.toFixed(1)} ms`);
    }
  } finally {
    await listener?.stop(Date.now());
    await store.close();
    t.cleanup();
    tmp.cleanup();
  }
});

test.run();
