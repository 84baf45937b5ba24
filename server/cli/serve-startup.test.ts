// Fail-stop startup, as users run it: `railyard serve` in a child process. A port in use, a
// publicUrl its users would refuse, an out-of-range duration or a keyring without the pinned
// key stop the process at once with exit 1 and one message naming the key, and nothing
// keeps running. A usage error (an unknown flag) exits 2.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI } from '../testing/cli.ts';
import { tempDir } from '../testing/fixtures.ts';

const tmp = tempDir('railyard-startup-');

interface Exit {
  code: number | null;
  stderr: string;
  ms: number;
}

/** Run `railyard serve` with a config file; it must exit by itself within 20 s. */
function serve(yaml: string, ...args: string[]): Promise<Exit> {
  const file = join(tmp.dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  const base = `dataDir: ${tmp.dir}/data\ntftp:\n  enabled: false\nlog:\n  format: json\n  level: info\n`;
  writeFileSync(file, base + yaml);
  const t0 = Date.now();
  const child = spawn(process.execPath, [CLI, 'serve', '--config', file, ...args], { cwd: tmp.dir });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - t0 });
    });
  });
}

/** Lines that are not pino JSON log lines: what the operator reads. */
const messages = (stderr: string) => stderr.split('\n').filter((l) => l && !l.startsWith('{'));
/** Error messages: each starts `railyard serve:` (a configuration error lists its values indented below). */
const errors = (stderr: string) => messages(stderr).filter((l) => l.startsWith('railyard '));

test('HTTP port in use: exit 1 at once, one message naming http.listen; the process does not linger', async () => {
  const holder: Server = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const port = (holder.address() as { port: number }).port;
  try {
    const r = await serve(`http:\n  listen: 127.0.0.1:${port}\nmirror:\n  autoRefresh: true\n`);
    assert.is(r.code, 1, r.stderr);
    assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
    const lines = messages(r.stderr);
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0] ?? '', `http.listen: cannot listen on 127.0.0.1:${port} (EADDRINUSE)`);
    // The mirror job never started: nothing after the failure.
    assert.not.match(r.stderr, 'mirror auto-refresh on');
  } finally {
    holder.close();
  }
});

test('mirror.interval: 30d is refused at load (exit 1: serve is fail-stop), naming the key and the bounds', async () => {
  const r = await serve('http:\n  listen: 127.0.0.1:0\nmirror:\n  interval: 30d\n');
  assert.is(r.code, 1, r.stderr);
  assert.is(errors(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, 'mirror.interval = "30d": expected a duration from 1m to 7d');
  assert.not.match(r.stderr, 'HTTP listening');
});

test('an invalid publicUrl stops startup with exit 1 and one message naming it; a password in it is never printed', async () => {
  const bad = await serve('http:\n  listen: 127.0.0.1:0\npublicUrl: http://boot_server:8080\n');
  assert.is(bad.code, 1, bad.stderr);
  assert.equal(errors(bad.stderr).length, 1, bad.stderr);
  assert.match(bad.stderr, 'publicUrl = "http://boot_server:8080": the installer script would refuse it');
  assert.not.match(bad.stderr, 'HTTP listening');
  // Refused by the schema rather than by its users: the same exit and key.
  const schema = await serve('http:\n  listen: 127.0.0.1:0\npublicUrl: ftp://10.0.0.5\n');
  assert.is(schema.code, 1, schema.stderr);
  assert.equal(errors(schema.stderr).length, 1, schema.stderr);
  assert.equal(messages(schema.stderr).length, 2, 'the message and its one indented value');
  assert.match(schema.stderr, 'publicUrl = "ftp://10.0.0.5": expected an http(s) base URL');
  const secret = await serve('http:\n  listen: 127.0.0.1:0\npublicUrl: http://ops:hunter2@10.0.0.5:8080\n');
  assert.is(secret.code, 1, secret.stderr);
  assert.match(secret.stderr, 'credentials in the URL');
  assert.not.match(secret.stderr, 'hunter2');
});

test('the mirror job with a keyring lacking the pinned key stops startup (after HTTP was up)', async () => {
  const keyring = join(tmp.dir, 'empty.asc');
  writeFileSync(keyring, '');
  const r = await serve(
    `http:\n  listen: 127.0.0.1:0\nmirror:\n  autoRefresh: true\n  keyring: ${keyring}\n  upstream: http://127.0.0.1:9/{channel}/{board}\n`,
  );
  assert.is(r.code, 1, r.stderr);
  const lines = messages(r.stderr);
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0] ?? '', 'mirror.keyring');
});

test('a usage error exits 2', async () => {
  const r = await serve('', '--no-such-flag');
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, '--no-such-flag');
});

test.after(() => tmp.cleanup());
test.run();
