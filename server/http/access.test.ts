// Operators' access against `railyard serve` in a child process, with curl as the attacker:
// no admin.token configured (a generated one and a one-time link in the log), reads without
// a login, a rebinding Host, a 200 MB sign-in body, the per-client login limit (from several
// loopback source addresses), sign-out.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI } from '../testing/cli.ts';
import { tempDir } from '../testing/fixtures.ts';

const execFileP = promisify(execFile);
const tmp = tempDir('railyard-access-');
let child: ChildProcess;
let log = '';
let base = '';
let port = 0;

interface Curl {
  status: number;
  headers: string;
  body: string;
}

/** curl as a LAN client: `args` go before the URL; status, response headers and body back. */
async function curl(path: string, args: string[] = [], host = `127.0.0.1:${port}`): Promise<Curl> {
  const { stdout } = await execFileP(
    'curl',
    ['-sS', '-D', '-', '--max-time', '60', ...args, `http://${host}${path}`],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const split = stdout.indexOf('\r\n\r\n');
  const headers = stdout.slice(0, split);
  return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(headers)?.[1]), headers, body: stdout.slice(split + 4) };
}

const cookieFrom = (r: Curl) => /set-cookie: railyard_session=([^;]*)/i.exec(r.headers)?.[1];

test.before(async () => {
  const config = join(tmp.dir, 'railyard.yaml');
  writeFileSync(
    config,
    `http:\n  listen: 127.0.0.1:0\ndataDir: ${tmp.dir}/data\ntftp:\n  enabled: false\nmirror:\n  autoRefresh: false\nlog:\n  format: json\n`,
  );
  child = spawn(process.execPath, [CLI, 'serve', '--config', config], { cwd: tmp.dir });
  base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no sign-in line in: ${log}`)), 30_000);
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /open (http:\/\/127\.0\.0\.1:[1-9]\d*)\/ui\/login\?link=/.exec(log);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  port = Number(new URL(base).port);
});

test.after(() => {
  child.kill('SIGTERM');
  tmp.cleanup();
});

test('no admin.token: a generated 0600 token file and a one-time link in the log, never the token', async () => {
  const token = readFileSync(join(tmp.dir, 'data/admin-token'), 'utf8').trim();
  assert.not.match(log, token);
  const link = /\/ui\/login\?link=([A-Za-z0-9_-]{43})/.exec(log)?.[1] as string;
  const page = await curl(`/ui/login?link=${link}`);
  assert.match(page.body, 'Sign in with this link');
  const used = await curl('/ui/login', ['--data', `link=${link}&next=/ui`]);
  assert.is(used.status, 303);
  const cookie = cookieFrom(used) as string;
  assert.ok(cookie && !cookie.includes(token));
  assert.is((await curl('/ui', ['-b', `railyard_session=${cookie}`])).status, 200);
  assert.is((await curl('/ui/login', ['--data', `link=${link}`])).status, 401, 'the link works once');
});

test('reads without a login: /ui redirects, /ui/live and the API answer 401', async () => {
  const ui = await curl('/ui');
  assert.is(ui.status, 303);
  assert.match(ui.headers, /location: \/ui\/login\?next=%2Fui/i);
  assert.is((await curl('/ui/live')).status, 401);
  assert.is((await curl('/api/v1/machines')).status, 401);
  assert.is((await curl('/api/v1/machines/52:54:00:00:00:01')).status, 401);
  const token = readFileSync(join(tmp.dir, 'data/admin-token'), 'utf8').trim();
  const ok = await curl('/api/v1/machines', ['-H', `Authorization: Bearer ${token}`]);
  assert.is(ok.status, 200);
  assert.match(ok.body, '"machines":[]');
});

test('DNS rebinding: a name railyard is not reached by gets 421 on /ui and /api; /boot.ipxe still answers', async () => {
  const token = readFileSync(join(tmp.dir, 'data/admin-token'), 'utf8').trim();
  const resolve = ['--resolve', `evil.example:${port}:127.0.0.1`];
  const api = await curl(
    '/api/v1/machines',
    [...resolve, '-H', `Authorization: Bearer ${token}`],
    `evil.example:${port}`,
  );
  assert.is(api.status, 421);
  assert.match(api.body, 'http.allowedHosts');
  assert.is((await curl('/ui/login', resolve, `evil.example:${port}`)).status, 421);
  assert.is((await curl('/boot.ipxe', resolve, `evil.example:${port}`)).status, 200);
  assert.is((await curl('/ui/login', [], `localhost:${port}`)).status, 200);
});

test('a 200 MB sign-in body is refused with 413 at once, without the server reading it', async () => {
  const rssBefore = rssOf(child.pid as number);
  const t0 = Date.now();
  // Content-Length announced: refused before a byte of the body is read.
  const { stdout } = await execFileP('sh', [
    '-c',
    `head -c 200000000 /dev/zero | curl -sS -o /dev/null -w '%{http_code}' --max-time 60 -H 'Content-Type: application/x-www-form-urlencoded' -H 'Content-Length: 200000000' --data-binary @- ${base}/ui/login || true`,
  ]);
  assert.is(stdout.slice(0, 3), '413');
  // Chunked (no length): cut off as soon as it passes 64 KiB.
  const chunked = await execFileP('sh', [
    '-c',
    `head -c 200000000 /dev/zero | curl -sS -o /dev/null -w '%{http_code}' --max-time 60 -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @- ${base}/ui/login || true`,
  ]);
  assert.is(chunked.stdout.slice(0, 3), '413');
  assert.ok(Date.now() - t0 < 30_000, `took ${Date.now() - t0} ms`);
  const grown = rssOf(child.pid as number) - rssBefore;
  assert.ok(grown < 64 * 1024 * 1024, `server RSS grew by ${grown} bytes`);
});

test('failed logins are limited per client address: 429 with Retry-After, other clients unaffected', async () => {
  const from = (ip: string) => ['--interface', ip];
  for (let i = 0; i < 5; i++)
    assert.is((await curl('/ui/login', [...from('127.0.0.2'), '--data', `token=wrong-${i}`])).status, 401);
  const token = readFileSync(join(tmp.dir, 'data/admin-token'), 'utf8').trim();
  const blocked = await curl('/ui/login', [...from('127.0.0.2'), '--data', `token=${token}`]);
  assert.is(blocked.status, 429);
  assert.match(blocked.headers, /retry-after: \d+/i);
  const bearer = await curl('/api/v1/machines', [
    ...from('127.0.0.2'),
    '-H',
    `Authorization: Bearer ${token}`,
  ]);
  assert.is(bearer.status, 429, 'the API admin bearer shares the limit');
  const other = await curl('/ui/login', [...from('127.0.0.3'), '--data', `token=${token}`]);
  assert.is(other.status, 303, 'another client signs in');
});

test('sign-out invalidates the session on the server (a copied cookie is dead)', async () => {
  const token = readFileSync(join(tmp.dir, 'data/admin-token'), 'utf8').trim();
  const login = await curl('/ui/login', ['--interface', '127.0.0.4', '--data', `token=${token}`]);
  const cookie = ['-b', `railyard_session=${cookieFrom(login)}`];
  assert.is((await curl('/ui/live', cookie)).status, 200);
  assert.is((await curl('/ui/logout', [...cookie, '-X', 'POST'])).status, 303);
  assert.is((await curl('/ui/live', cookie)).status, 401);
  assert.is((await curl('/api/v1/machines', cookie)).status, 401);
});

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

test.run();
