// `railyard pool list|claim|release` as users run it: a child process per command on a real
// state database, with machines pooled the way the server records them.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PACKAGE_ROOT } from '../config.ts';
import { canonicalMac } from '../machines/identity.ts';
import { writePoolMachines } from '../pool/fixtures/machines.ts';
import { newAttempt } from '../store/fixtures/attempt.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import { publishRelease, tempDir } from '../testing/fixtures.ts';

const CLI = join(PACKAGE_ROOT, 'bin/railyard.js');
const tmp = tempDir('railyard-pool-cli-');
const dataDir = join(tmp.dir, 'data');
const config = join(tmp.dir, 'railyard.yaml');
writeFileSync(config, `dataDir: ${dataDir}\nmachinesDir: ${writePoolMachines(tmp.dir)}\n`);
mkdirSync(join(dataDir, 'mirror'), { recursive: true });
publishRelease(join(dataDir, 'mirror'), 'stable', 'amd64-usr', '9999.0.0');
const A = canonicalMac('52:54:00:00:17:01');
const B = canonicalMac('52:54:00:00:17:02');

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, 'pool', ...args, '--config', config], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test.before(async () => {
  const store = openSqliteStore(join(dataDir, 'state.db'));
  for (const [i, mac] of [A, B].entries()) {
    const at = new Date(Date.UTC(2026, 11, 1, 12, 0, i)).toISOString();
    const { attempt } = await store.openAttempt(
      mac,
      newAttempt({ group: 'pool', profile: 'base', installDisk: '/dev/vda', facts: { mac, arch: 'x86_64' } }),
      { type: 'install-script-served', source: 'http', at },
      { facts: { mac, arch: 'x86_64' } },
    );
    await store.pool.enter(mac, 'pool', attempt.id, at);
    await store.recordReport(attempt.id, { type: 'pooled', source: 'installer', at }, () => 'pooled');
    await store.pool.pooled(
      mac,
      attempt.id,
      { version: '9999.0.0', disk: '/dev/vda', imageSha256: 'd'.repeat(64) },
      at,
    );
  }
  await store.close();
});
test.after(() => tmp.cleanup());

test('pool list shows the pool group and its members', () => {
  const r = cli('list');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, 'pool pool: base profile base, release 9999.0.0, refresh background');
  assert.match(r.out, new RegExp(`${A}\\s+pooled\\s+pool\\s+9999\\.0\\.0`));
});

test('pool claim takes the oldest pooled machine, all or nothing; errors exit 1 with the reason', () => {
  const r = cli('claim', '--profile', 'web', '--metadata', 'role=db', '--selector', 'arch=x86_64', '--json');
  assert.is(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).claimed, [
    { mac: A, profile: 'web', version: '9999.0.0', prewritten: true },
  ]);
  const tooMany = cli('claim', '--profile', 'web', '--metadata', 'role=db', '--count', '2');
  assert.is(tooMany.code, 1);
  assert.match(tooMany.err, 'asked for 2 machine(s) but only 1');
  const usage = cli('claim', '--count', '1');
  assert.is(usage.code, 2);
  assert.match(usage.err, 'needs --profile');
  assert.match(cli('list').out, new RegExp(`${A}\\s+claimed\\s+pool\\s+9999\\.0\\.0\\s+web`));
});

test('pool release puts an undelivered claim back into the pool', () => {
  const r = cli('release', A.replaceAll(':', '-'));
  assert.is(r.code, 0, r.err);
  assert.match(r.out, 'pooled again');
  assert.match(cli('release', A).err, 'is not claimed');
});

test.run();
