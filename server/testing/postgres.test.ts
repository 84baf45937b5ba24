import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import pg from 'pg';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { havePostgres, type PgCluster, startPostgres } from './postgres.ts';

const query = async (url: string, sql: string) => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
};

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

const waitGone = async (pid: number) => {
  for (let i = 0; i < 300 && !gone(pid); i++) await new Promise((r) => setTimeout(r, 100));
  return gone(pid);
};

test('a throwaway cluster: password auth on loopback, halt and start keep the data, stop removes it', async () => {
  assert.ok(havePostgres, 'postgresql-15 is installed (.ci/run installs it)');
  const cluster: PgCluster = await startPostgres();
  try {
    const [row] = await query(
      cluster.url(),
      "SELECT current_setting('server_version_num') AS v, current_user AS u",
    );
    assert.match(String(row?.['v']), /^15/);
    assert.is(row?.['u'], 'railyard');
    await query(cluster.url(), 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)');
    const wrong = cluster.url().replace(/:[^:@]+@/, ':wrong@');
    try {
      await query(wrong, 'SELECT 1');
      assert.unreachable('a wrong password is refused');
    } catch (err) {
      assert.match(String(err), /password authentication failed/);
    }
    const pid = cluster.pid as number;
    await cluster.halt();
    assert.ok(gone(pid), 'halted by PID');
    try {
      await query(cluster.url(), 'SELECT 1');
      assert.unreachable('halted: refused');
    } catch (err) {
      assert.match(String(err), /ECONNREFUSED/);
    }
    await cluster.start();
    assert.equal(await query(cluster.url(), 'SELECT n FROM kept'), [{ n: 7 }]);
  } finally {
    await cluster.stop();
  }
  assert.is(cluster.pid, undefined);
});

// A test process that dies without cleaning up must not leave a postmaster behind.
for (const how of ['exits', 'is killed'] as const) {
  test(`the cluster goes when the test process ${how}`, async () => {
    const script = `
      import { startPostgres } from ${JSON.stringify(new URL('./postgres.ts', import.meta.url).pathname)};
      const c = await startPostgres();
      process.stdout.write(String(c.pid) + ' ' + c.dir + '\\n');
      ${how === 'exits' ? 'process.exit(1);' : 'setInterval(() => {}, 1000);'}
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let dir = '';
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^(\d+) (\S+)\n/.exec(out);
        if (m) {
          dir = m[2] as string;
          resolve(Number(m[1]));
        }
      });
      child.on('exit', () => reject(new Error(`child exited before starting postgres: ${out}`)));
    });
    assert.ok(!gone(pid), 'postgres ran');
    if (how === 'is killed') child.kill('SIGKILL');
    assert.ok(await waitGone(pid), `postmaster ${pid} ended`);
    assert.not.ok(existsSync(`/proc/${pid}`));
    rmSync(dir, { recursive: true, force: true }); // the exit hook's removal races the shutdown
  });
}

test.run();
