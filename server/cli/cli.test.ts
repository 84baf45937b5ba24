// The CLI as users run it: a child process per command, real exit codes and messages.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalMac } from '../machines/identity.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import { CLI } from '../testing/cli.ts';
import { tempDir } from '../testing/fixtures.ts';

const tmp = tempDir('railyard-cli-');
const config = join(tmp.dir, 'railyard.yaml');
writeFileSync(
  config,
  `http:\n  listen: 127.0.0.1:0\ndataDir: ${tmp.dir}/data\ntftp:\n  enabled: false\nmirror:\n  autoRefresh: false\nlog:\n  format: json\n`,
);
const env = { ...process.env, RAILYARD_LOG_LEVEL: 'info' };

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env,
    cwd: tmp.dir,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('--help documents every command; unknown commands exit 2', () => {
  const help = cli('--help');
  assert.is(help.code, 0);
  for (const cmd of ['serve', 'machines']) assert.match(help.out, cmd);
  const serveHelp = cli('serve', '--help');
  assert.is(serveHelp.code, 0);
  assert.match(serveHelp.out, '--listen');
  const bad = cli('frobnicate');
  assert.is(bad.code, 2);
  assert.match(bad.err, "unknown command 'frobnicate'");
  const badFlag = cli('machines', 'list', '--nope');
  assert.is(badFlag.code, 2);
  assert.match(badFlag.err, '--nope');
});

test('a bad config stops with one clear message: exit 1 for serve (fail-stop), 2 for other commands', () => {
  const file = join(tmp.dir, 'bad.yaml');
  writeFileSync(file, 'http:\n  listen: everywhere\n');
  const r = cli('serve', '--config', file);
  assert.is(r.code, 1);
  assert.match(r.err, `${file}: http.listen = "everywhere": expected host:port`);
  const list = cli('machines', 'list', '--config', file);
  assert.is(list.code, 2);
  assert.match(list.err, `${file}: http.listen = "everywhere": expected host:port`);
});

test('machines list/show/reprovision work on the state database', async () => {
  mkdirSync(join(tmp.dir, 'data'), { recursive: true });
  const store = openSqliteStore(join(tmp.dir, 'data', 'state.db'));
  await store.recordEvent(
    canonicalMac('52:54:00:00:00:07'),
    { type: 'install-script-served', source: 'http' },
    { profile: 'p', group: 'g' },
  );
  await store.recordEvent(canonicalMac('52:54:00:00:00:07'), { type: 'installed', source: 'installer' });
  await store.close();
  const list = cli('machines', 'list', '--config', config);
  assert.is(list.code, 0, list.err);
  assert.match(list.out, /52:54:00:00:00:07\s+installed\s+p/);
  const show = cli('machines', 'show', '52-54-00-00-00-07', '--config', config, '--json');
  assert.is(JSON.parse(show.out).machine.state, 'installed');
  const rep = cli('machines', 'reprovision', '5254.0000.0007', '--config', config);
  assert.is(rep.code, 0, rep.err);
  assert.match(rep.out, 'reprovision-requested');
  const missing = cli('machines', 'show', '52:54:00:00:00:08', '--config', config);
  assert.is(missing.code, 1);
  assert.match(missing.err, 'no machine 52:54:00:00:00:08');
  assert.is(cli('machines', 'show', '--config', config).code, 2);
});

test('serve logs its listener, serves, and exits 0 on SIGTERM', async () => {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--config', config], {
    env,
    cwd: tmp.dir,
  });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listener line in: ${log}`)), 30_000);
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /HTTP listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  const res = await fetch(`${url}/healthz`);
  assert.is(res.status, 200);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.is(await exited, 0);
  assert.match(log, 'shutting down');
});

test.after(() => tmp.cleanup());
test.run();
