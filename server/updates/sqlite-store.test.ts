import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { SCHEMA_VERSION } from '../store/migrations.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import { tempDir } from '../testing/fixtures.ts';
import { openSqliteUpdateStore } from './sqlite-store.ts';

const run = promisify(execFile);

test('4 processes racing for 5 slots on one database file never get more than 5', async () => {
  const { dir, cleanup } = tempDir('railyard-slots-');
  try {
    const file = join(dir, 'state.db');
    await openSqliteUpdateStore(file).close();
    const taker = new URL('./fixtures/slot-taker.ts', import.meta.url).pathname;
    const outs = await Promise.all(
      [0, 1, 2, 3].map((p) =>
        run(process.execPath, [
          '--import',
          'tsx',
          taker,
          file,
          '5',
          ...Array.from({ length: 10 }, (_, i) => `${p}-${i}`),
        ]),
      ),
    );
    const total = outs.reduce((n, o) => n + Number(o.stdout.trim()), 0);
    assert.is(total, 5);
    const store = openSqliteUpdateStore(file);
    assert.is(await store.slotsInUse('rack', '2000-01-01T00:00:00.000Z'), 5);
    await store.close();
  } finally {
    cleanup();
  }
});

test('shares the state database with the machine store; its own schema version; a newer one refuses to open', async () => {
  const { dir, cleanup } = tempDir('railyard-updstore-');
  try {
    const file = join(dir, 'state.db');
    const updates = openSqliteUpdateStore(file); // first: it creates the file (0600) itself
    const machines = openSqliteStore(file);
    await machines.recordEvent(canonicalMac('52:54:00:00:00:01'), {
      type: 'install-started',
      source: 'installer',
    });
    assert.equal(
      await updates.bind('0'.repeat(32), canonicalMac('52:54:00:00:00:01'), '2026-01-01T00:00:00Z'),
      {
        ok: true,
      },
    );
    assert.ok(existsSync(`${file}-wal`));
    for (const f of [file, `${file}-wal`, `${file}-shm`])
      assert.is(statSync(f).mode & 0o777, 0o600, `${f} is owner-only`);
    await updates.close();
    await machines.close();
    const db = new Database(file);
    assert.is(
      db.pragma('user_version', { simple: true }),
      SCHEMA_VERSION,
      "the machine store's version is untouched",
    );
    db.prepare('INSERT INTO update_schema (version) VALUES (99)').run();
    db.close();
    assert.throws(() => openSqliteUpdateStore(file), /update tables schema version 99 is newer/);
  } finally {
    cleanup();
  }
});

test.run();
