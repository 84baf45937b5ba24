// railyard state export | import with the real CLI, a real SQLite file and a real
// PostgreSQL: SQLite → PostgreSQL → SQLite keeps every row and id, and an attempt's tokens
// still verify after the move; bad, truncated or misdirected input changes nothing.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT } from '../config.ts';
import { AttemptCredentials, hashToken } from '../installer/credentials.ts';
import { canonicalMac } from '../machines/identity.ts';
import { newAttempt } from '../store/fixtures/attempt.ts';
import { openPgStore } from '../store/pg.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import type { StateStore } from '../store/state-store.ts';
import { tempDir } from '../testing/fixtures.ts';
import { PG_PASSWORD, type PgCluster, startPostgres } from '../testing/postgres.ts';
import type { UpdateClient } from '../updates/client.ts';
import { openPgUpdateStore } from '../updates/pg-store.ts';
import { openSqliteUpdateStore } from '../updates/sqlite-store.ts';

const CLI = join(PACKAGE_ROOT, 'bin/railyard.js');
const tmp = tempDir('railyard-state-cli-');
let cluster: PgCluster;
const A = canonicalMac('52:54:00:00:0e:01');
const B = canonicalMac('52:54:00:00:0e:02');

test.before(async () => {
  cluster = await startPostgres();
});
test.after(async () => {
  await cluster?.stop();
});

function sqliteConfig(name: string): string {
  const file = join(tmp.dir, `${name}.yaml`);
  mkdirSync(join(tmp.dir, name), { recursive: true });
  writeFileSync(file, `dataDir: ${join(tmp.dir, name)}\nlog:\n  level: warn\n`);
  return file;
}

/** Run a shell pipeline of railyard commands (`railyard` is the CLI). */
function sh(script: string, env: Record<string, string> = {}, input?: string) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn('sh', ['-c', script.replaceAll('railyard ', `"${process.execPath}" "${CLI}" `)], {
      env: { ...process.env, ...env },
      cwd: tmp.dir,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(input ?? '');
  });
}

async function snapshot(store: StateStore) {
  const machines = await store.listMachines();
  const per = await Promise.all(
    machines.map(async (m) => [m, await store.attempts(m.mac), await store.events(m.mac)]),
  );
  return { per, session: await store.sessions.get('a'.repeat(64)), pool: await store.pool.list() };
}

async function seed(dataDir: string) {
  const store = openSqliteStore(join(dataDir, 'state.db'));
  const credentials = AttemptCredentials.open(dataDir);
  const first = await store.openAttempt(A, newAttempt({ secrets: credentials.issue() }), {
    type: 'install-script-served',
    source: 'http',
  });
  await store.recordReport(first.attempt.id, { type: 'installed', source: 'installer' }, () => 'installed');
  const open = await store.openAttempt(A, newAttempt({ secrets: credentials.issue() }), {
    type: 'install-script-served',
    source: 'http',
  });
  await store.recordEvent(B, {
    type: 'install-failed',
    source: 'installer',
    data: { exitCode: 3, output: 'ü "x"\n' },
  });
  await store.sessions.create({ id: 'a'.repeat(64), binding: 'b'.repeat(64), createdAt: 1, expiresAt: 9e12 });
  // a warm pool member with its claim: per-machine truth that moves with the state
  await store.pool.enter(A, 'pool', open.attempt.id, '2026-06-01T00:00:00.000Z');
  const disk = { version: '4230.2.3', disk: '/dev/vda', imageSha256: 'd'.repeat(64) };
  await store.pool.pooled(A, open.attempt.id, disk, '2026-06-01T00:01:00.000Z');
  const claimed = await store.pool.claim({
    groups: ['pool'],
    mac: A,
    count: 1,
    matches: () => true,
    claim: { profile: 'web', metadata: { role: 'edge' }, at: '2026-06-01T00:02:00.000Z' },
  });
  assert.is(claimed.length, 1);
  const before = await snapshot(store);
  await store.close();
  const updates = openSqliteUpdateStore(join(dataDir, 'state.db'));
  await updates.bind(MACHINE_ID, A, '2026-06-01T00:00:00Z');
  await updates.save(updateClient(), 10);
  await updates.setPaused('rack', true, '2026-06-01T00:00:00Z', 'admin');
  await updates.close();
  return { before, open: open.attempt };
}

const MACHINE_ID = 'c'.repeat(32);

function updateClient(): UpdateClient {
  const at = '2026-06-01T00:00:00.000Z';
  return {
    machineId: MACHINE_ID,
    mac: A,
    group: 'rack',
    track: 'stable',
    board: 'amd64-usr',
    oem: '',
    version: '4230.2.2',
    target: '4230.2.3',
    state: 'offered',
    slotSince: at,
    lastCheck: at,
    lastResult: 'offered',
    errorCode: null,
    ip: '10.0.0.9',
    firstSeen: at,
    lastSeen: at,
  };
}

test('SQLite → PostgreSQL → SQLite through the CLI pipe: every row, id and token survives', async () => {
  const src = sqliteConfig('src');
  const { before, open } = await seed(join(tmp.dir, 'src'));
  const pg = { RAILYARD_STATE_DRIVER: 'postgres', RAILYARD_STATE_URL: cluster.url() };
  const there = await sh(
    `railyard state export -c ${src} | RAILYARD_STATE_DRIVER=postgres RAILYARD_STATE_URL='${cluster.url()}' railyard state import -c ${src}`,
  );
  assert.is(there.code, 0, there.err);
  assert.match(
    there.err,
    'imported 2 machines, 2 attempts, 4 events, 1 sessions, 1 update clients, 1 machine-ids, 1 paused rollouts, 1 pool members, the token secret',
    there.err,
  );
  assert.not.match(there.err, PG_PASSWORD);
  const store = await openPgStore({ url: cluster.url() });
  assert.equal(await snapshot(store), before);
  const pgUpdates = await openPgUpdateStore({ url: cluster.url() });
  assert.equal(await pgUpdates.get(MACHINE_ID), updateClient(), 'update clients moved too');
  assert.is(await pgUpdates.macFor(MACHINE_ID), A);
  assert.equal(
    (await pgUpdates.pauses()).map((p) => p.group),
    ['rack'],
  );
  await pgUpdates.close();
  // The installer of the open attempt keeps reporting: the secret moved with the state.
  const credentials = await AttemptCredentials.load(store, '/nonexistent');
  const tokens = credentials.tokens(open.secrets.nonce);
  assert.is(hashToken(tokens.install), open.secrets.installTokenHash);
  // New ids continue after the imported ones.
  const next = await store.recordEvent(B, { type: 'reprovision-requested', source: 'admin' });
  assert.ok(
    next.event.id >
      Math.max(...before.per.flatMap(([, , evs]) => (evs as { id: number }[]).map((e) => e.id))),
  );
  await store.close();

  const back = sqliteConfig('back');
  const home = await sh(
    `railyard state export | RAILYARD_STATE_DRIVER=sqlite railyard state import -c ${back}`,
    pg,
  );
  assert.is(home.code, 0, home.err);
  const again = openSqliteStore(join(tmp.dir, 'back', 'state.db'));
  const snap = await snapshot(again);
  await again.close();
  assert.equal(snap.per.slice(0, 1), before.per.slice(0, 1), 'machine A as it was');
  assert.equal(snap.pool, before.pool, 'its pool claim as it was');
  assert.is(snap.pool[0]?.claim?.profile, 'web');
  assert.is(snap.per.length, 2);
  assert.is(
    readFileSync(join(tmp.dir, 'back', 'secret'), 'utf8'),
    readFileSync(join(tmp.dir, 'src', 'secret'), 'utf8'),
  );
});

test('import refuses a non-empty target, truncated or invalid input, and a different secret file: nothing changes', async () => {
  const src = sqliteConfig('src2');
  await seed(join(tmp.dir, 'src2'));
  const dump = await sh(`railyard state export -c ${src}`);
  assert.is(dump.code, 0, dump.err);
  const nonEmpty = await sh(`railyard state import -c ${src}`, {}, dump.out);
  assert.is(nonEmpty.code, 2);
  assert.match(nonEmpty.err, 'already holds machines or sessions');

  const target = sqliteConfig('t2');
  const lines = dump.out.trimEnd().split('\n');
  const truncated = await sh(`railyard state import -c ${target}`, {}, `${lines.slice(0, -2).join('\n')}\n`);
  assert.is(truncated.code, 2);
  assert.match(truncated.err, 'no end line: the export is truncated; nothing imported');
  const badMac = lines.map((l, i) => (i === 1 ? l.replace(A, 'not-a-mac') : l)).join('\n');
  const invalid = await sh(`railyard state import -c ${target}`, {}, badMac);
  assert.is(invalid.code, 2);
  assert.match(invalid.err, 'stdin: line 2: row.mac: expected a canonical MAC');
  writeFileSync(join(tmp.dir, 't2', 'secret'), `${'ab'.repeat(32)}\n`, { mode: 0o600 });
  const secret = await sh(`railyard state import -c ${target}`, {}, dump.out);
  assert.is(secret.code, 2);
  assert.match(secret.err, 'holds a different token secret');
  const store = openSqliteStore(join(tmp.dir, 't2', 'state.db'));
  assert.equal(await store.listMachines(), [], 'nothing imported');
  await store.close();
});

test.run();
