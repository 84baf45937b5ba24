// A state store that cannot write (SQLite's SQLITE_FULL, from a page limit on a real
// database file) or cannot even read: iPXE never gets a 500. Installed machines still get
// their disk-boot script, everyone else a script that retries; nothing is recorded.
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StorageError } from '../errors.ts';
import { canonicalMac } from '../machines/identity.ts';
import { brokenStore, memoryStore } from '../store/fakes.ts';
import { sqliteStoreOn } from '../store/sqlite.ts';
import type { StateStore } from '../store/state-store.ts';
import { tempDir, testApp } from '../testing/fixtures.ts';

const INSTALLED = '52-54-00-00-f0-01';
const INSTALLING = '52-54-00-00-f0-02';
const UNKNOWN = '52-54-00-00-f0-03';
const IPXE = { 'user-agent': 'iPXE/1.21.1' };

/** Write filler rows, big then small, until SQLite says the database is full. */
async function fill(store: StateStore): Promise<void> {
  let n = 0;
  for (const size of [4000, 400, 40, 1]) {
    for (;;) {
      const mac = `52:54:00:ff:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
      n++;
      try {
        await store.recordEvent(canonicalMac(mac), {
          type: 'progress',
          source: 'installer',
          data: { x: 'y'.repeat(size) },
        });
      } catch (err) {
        assert.instance(err, StorageError);
        assert.match(String(err), 'SQLITE_FULL');
        break;
      }
    }
  }
}

test('disk full: installed machines boot from disk, others retry, reports get 503, nothing changes', async () => {
  const { dir, cleanup } = tempDir();
  const db = new Database(`${dir}/state.db`);
  db.pragma('journal_mode = WAL');
  const store = sqliteStoreOn(db);
  const t = await testApp({ store });
  try {
    const ipxe = (mac: string, headers: Record<string, string> = IPXE) =>
      t.app.request(`/ipxe?mac=${mac}&platform=pcbios`, { headers });
    await ipxe(INSTALLED);
    const token = await t.installToken(INSTALLED.replaceAll('-', ':'));
    const report = () =>
      t.app.request(`/api/v1/machines/${INSTALLED}/attempts/1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'handoff', method: 'reboot', reason: 'profile' }),
      });
    await t.app.request(`/api/v1/machines/${INSTALLED}/attempts/1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'installed' }),
    });
    await ipxe(INSTALLING);
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true })}`);
    await fill(store);
    const before = JSON.stringify([await store.listMachines(), await store.events(canonicalMac(INSTALLED))]);

    const disk = await ipxe(INSTALLED);
    assert.is(disk.status, 200);
    assert.is(disk.headers.get('x-railyard-decision'), 'local-boot');
    assert.match(await disk.text(), 'sanboot --no-describe --drive 0x80');
    for (const mac of [INSTALLING, UNKNOWN]) {
      const retry = await ipxe(mac);
      assert.is(retry.status, 200, 'iPXE runs only a 200 script');
      assert.is(retry.headers.get('x-railyard-decision'), 'retry');
      const text = await retry.text();
      assert.match(
        text,
        'railyard cannot record this boot right now: state database: database or disk is full',
      );
      assert.match(text, /sleep 60\nchain --autofree http:\/\/192\.0\.2\.10:8080\/boot\.ipxe/);
      const curl = await ipxe(mac, {});
      assert.is(curl.status, 503);
      assert.is(curl.headers.get('retry-after'), '60');
    }
    const refused = await report();
    assert.is(refused.status, 503);
    assert.match(await refused.text(), 'database or disk is full');
    assert.is(
      JSON.stringify([await store.listMachines(), await store.events(canonicalMac(INSTALLED))]),
      before,
    );
  } finally {
    t.cleanup();
    await store.close();
    cleanup();
  }
});

test('a store that cannot even be read: every iPXE client gets the retry script, never a 500', async () => {
  const t = await testApp({ store: brokenStore() });
  try {
    const res = await t.app.request(`/ipxe?mac=${INSTALLED}`, { headers: IPXE });
    assert.is(res.status, 200);
    assert.is(res.headers.get('x-railyard-decision'), 'retry');
    assert.is((await t.app.request(`/ipxe?mac=${INSTALLED}`)).status, 503);
    assert.is(
      (await t.app.request('/ipxe?mac=nonsense', { headers: IPXE })).status,
      400,
      'bad input stays a 400',
    );
  } finally {
    t.cleanup();
  }
});

test('a bug behind /ipxe (not a storage error) is logged and answered with the retry script too', async () => {
  const store = memoryStore();
  const t = await testApp({
    store: {
      ...store,
      getMachine: async () => {
        throw new TypeError('a bug');
      },
    },
  });
  try {
    const res = await t.app.request(`/ipxe?mac=${UNKNOWN}`, { headers: IPXE });
    assert.is(res.status, 200);
    assert.is(res.headers.get('x-railyard-decision'), 'retry');
    assert.match(await res.text(), 'internal error');
    assert.is((await t.app.request(`/ipxe?mac=${UNKNOWN}`)).status, 503);
  } finally {
    t.cleanup();
  }
});

test.run();
