import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_KEYRING, envName, loadConfig, PACKAGE_ROOT } from './config.ts';
import { ConfigError } from './errors.ts';
import { tempDir } from './testing/fixtures.ts';

const tmp = tempDir('railyard-config-');
const file = (name: string, text: string) => {
  const p = join(tmp.dir, name);
  writeFileSync(p, text);
  return p;
};

test('built-in defaults', () => {
  const c = loadConfig({ env: {}, cwd: tmp.dir });
  assert.is(c.http.listen, '0.0.0.0:8080');
  assert.is(c.dataDir, join(tmp.dir, 'var'));
  assert.is(c.state.path, join(tmp.dir, 'var', 'state.db'));
  assert.is(c.machinesDir, join(PACKAGE_ROOT, 'examples'));
  assert.equal(c.tftp.listen, ['0.0.0.0:69']);
  assert.is(c.tftp.listenExplicit, false);
  assert.is(c.mirror.fingerprint, 'F88CFEDEFF29A5B4D9523864E25D9AED0593B34A');
  assert.is(c.mirror.keyring, DEFAULT_KEYRING);
  assert.is(c.mirror.interval, 6 * 3600 * 1000);
  assert.match(c.publicUrl, /^http:\/\/[^/]+:8080$/);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.http));
});

test('YAML file, paths relative to the file, publicUrl from the listen address', () => {
  const p = file(
    'a.yaml',
    'http:\n  listen: 127.0.0.1:9000\ndataDir: data\ntftp:\n  listen: [127.0.0.1:6969, 127.0.0.2:6969]\nmirror:\n  interval: 15m\n',
  );
  const c = loadConfig({ file: p, env: {} });
  assert.is(c.publicUrl, 'http://127.0.0.1:9000');
  assert.is(c.dataDir, join(tmp.dir, 'data'));
  assert.equal(c.tftp.listen, ['127.0.0.1:6969', '127.0.0.2:6969']);
  assert.is(c.tftp.listenExplicit, true);
  assert.is(c.mirror.interval, 15 * 60 * 1000);
  assert.is(c.source, p);
});

test('JSON works too', () => {
  const c = loadConfig({ file: file('b.json', '{"publicUrl": "http://10.1.2.3:8080/"}'), env: {} });
  assert.is(c.publicUrl, 'http://10.1.2.3:8080');
});

test('env vars RAILYARD_<SECTION>_<KEY> override the file; flags override env', () => {
  const p = file('c.yaml', 'http:\n  listen: 127.0.0.1:9000\n');
  const env = {
    RAILYARD_HTTP_LISTEN: '127.0.0.1:9100',
    RAILYARD_MIRROR_AUTO_REFRESH: 'false',
    RAILYARD_PUBLIC_URL: 'http://boot.example:80',
  };
  const c = loadConfig({ file: p, env });
  assert.is(c.http.listen, '127.0.0.1:9100');
  assert.is(c.mirror.autoRefresh, false);
  assert.is(c.publicUrl, 'http://boot.example:80');
  const f = loadConfig({ file: p, env, overrides: { 'http.listen': '127.0.0.1:9200' } });
  assert.is(f.http.listen, '127.0.0.1:9200');
  assert.is(envName('tftp.maxPerClient'), 'RAILYARD_TFTP_MAX_PER_CLIENT');
});

const expectError = (fn: () => unknown, ...parts: string[]) => {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ConfigError);
    for (const part of parts) assert.match((err as Error).message, part);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
};

test('bad values name file, key, value and what was expected', () => {
  const p = file('bad.yaml', 'http:\n  listen: nonsense\n');
  const err = expectError(
    () => loadConfig({ file: p, env: {} }),
    p,
    'http.listen',
    '"nonsense"',
    'expected host:port',
  );
  assert.is(err.key, 'http.listen');
  expectError(
    () => loadConfig({ file: file('d.yaml', 'mirror:\n  fingerprint: abc\n'), env: {} }),
    'mirror.fingerprint',
    '40-hex-digit',
  );
  expectError(
    () => loadConfig({ file: file('e.yaml', 'mirror:\n  interval: soon\n'), env: {} }),
    'mirror.interval',
    'duration',
  );
  expectError(() => loadConfig({ file: file('f.yaml', 'http:\n  lisen: 1.2.3.4:80\n'), env: {} }), 'lisen');
  expectError(
    () =>
      loadConfig({
        file: file('g.yaml', 'mirror:\n  releases:\n    - { channel: nightly, board: amd64-usr }\n'),
        env: {},
      }),
    'mirror.releases.0.channel',
    '"nightly"',
  );
});

test('pool: defaults, env override, bounds named by key', () => {
  const c = loadConfig({ env: { RAILYARD_POOL_REFRESH_CONCURRENCY: '5' } });
  assert.equal(c.pool, { vanishAfter: 180_000, refresh: 'background', refreshConcurrency: 5 });
  const p = file('pool.yaml', 'pool:\n  vanishAfter: 2s\n');
  expectError(() => loadConfig({ file: p, env: {} }), p, 'pool.vanishAfter', 'from 10s to 7d');
  expectError(
    () => loadConfig({ file: file('pool2.yaml', 'pool:\n  refresh: never\n'), env: {} }),
    'pool.refresh',
    '"never"',
  );
});

test('installer.kexecDeny: entries of SMBIOS strings and facts; bad entries name the key', () => {
  const ok = loadConfig({
    file: file(
      'deny.yaml',
      'installer:\n  kexecDeny:\n    - { manufacturer: "Acme Inc.", product: "Hangs 9000" }\n    - { serial: 1234, rack: r7 }\n',
    ),
    env: {},
  });
  assert.equal(ok.installer.kexecDeny, [
    { manufacturer: 'Acme Inc.', product: 'Hangs 9000' },
    { serial: '1234', rack: 'r7' },
  ]);
  assert.equal(loadConfig({ env: {}, cwd: tmp.dir }).installer.kexecDeny, []);
  expectError(
    () => loadConfig({ file: file('deny1.yaml', 'installer:\n  kexecDeny: [{}]\n'), env: {} }),
    'installer.kexecDeny.0',
    'empty entry',
  );
  expectError(
    () => loadConfig({ file: file('deny2.yaml', 'installer:\n  kexecDeny: [{ Vendor: x }]\n'), env: {} }),
    'installer.kexecDeny.0',
    'manufacturer, product or a fact name',
  );
  expectError(
    () => loadConfig({ file: file('deny3.yaml', 'installer:\n  kexecDeny: [{ mac: nope }]\n'), env: {} }),
    'installer.kexecDeny.0',
    'MAC address',
  );
  expectError(
    () =>
      loadConfig({ file: file('deny4.yaml', 'installer:\n  kexecDeny: [{ product: "t\\tab" }]\n'), env: {} }),
    'installer.kexecDeny.0.product',
    'printable',
  );
});

test('bad env values name the variable', () => {
  expectError(
    () => loadConfig({ env: { RAILYARD_LOG_LEVEL: 'loud' } }),
    'RAILYARD_LOG_LEVEL',
    'log.level',
    '"loud"',
  );
});

test('durations and numbers are bounded: mirror.interval 30d, timers past 2^31-1 ms, cache size', () => {
  expectError(
    () => loadConfig({ file: file('j.yaml', 'mirror:\n  interval: 30d\n'), env: {} }),
    'mirror.interval',
    '"30d"',
    'expected a duration from 1m to 7d',
  );
  expectError(
    () => loadConfig({ file: file('k.yaml', 'mirror:\n  interval: 10s\n'), env: {} }),
    'mirror.interval',
    'from 1m to 7d',
  );
  // A number of seconds past the timer limit (2^31-1 ms ≈ 24.8 days) is refused too.
  expectError(() => loadConfig({ env: { RAILYARD_HTTP_DRAIN_TIMEOUT: '2147484' } }), 'http.drainTimeout');
  expectError(
    () => loadConfig({ env: { RAILYARD_INSTALLER_CACHE_ENTRIES: '100000000' } }),
    'installer.cacheEntries',
    'from 1 to 100000',
  );
  expectError(() => loadConfig({ env: { RAILYARD_TFTP_MAX_TRANSFERS: '0' } }), 'tftp.maxTransfers');
  expectError(() => loadConfig({ env: { RAILYARD_UI_SESSION_TTL: '90d' } }), 'ui.sessionTtl', 'to 30d');
  expectError(() => loadConfig({ env: { RAILYARD_HTTP_HEADER_TIMEOUT: '0s' } }), 'http.headerTimeout');
  expectError(
    () => loadConfig({ env: { RAILYARD_UPDATES_SLOT_TIMEOUT: '10s' } }),
    'updates.slotTimeout',
    'from 1m to 30d',
  );
  expectError(
    () => loadConfig({ file: file('u.yaml', 'updates:\n  maxUnknown: 2000000\n'), env: {} }),
    'updates.maxUnknown',
    'from 0 to 1000000',
  );
  const ok = loadConfig({ env: { RAILYARD_MIRROR_INTERVAL: '7d' } });
  assert.is(ok.mirror.interval, 7 * 86_400_000);
});

test('secrets from the environment are strings, never YAML; errors never show them', () => {
  // YAML would read these as a number, an octal number, a list and a map.
  for (const token of [
    '12345678901234567890',
    '0o1234567012345670',
    '[abc,def,ghi,jklm]',
    '{a:b,c:dddddddddd}',
  ]) {
    assert.is(loadConfig({ env: { RAILYARD_ADMIN_TOKEN: token } }).admin.token, token);
  }
  const short = 'short-secret';
  const err = expectError(
    () => loadConfig({ env: { RAILYARD_ADMIN_TOKEN: short } }),
    'admin.token',
    'redacted',
  );
  assert.not.match(err.message, short);
  const inFile = file('l.yaml', 'admin:\n  token: 1234\n  tokn: x\n');
  const err2 = expectError(() => loadConfig({ file: inFile, env: {} }), 'admin');
  assert.not.match(err2.message, '1234');
  const url = file('m.yaml', 'mirror:\n  upstream: "https://mirror:hunter2@example.com/{board} x"\n');
  const err3 = expectError(() => loadConfig({ file: url, env: {} }), 'mirror.upstream', 'mirror:***@');
  assert.not.match(err3.message, 'hunter2');
});

test('unreadable and malformed files', () => {
  expectError(() => loadConfig({ file: join(tmp.dir, 'missing.yaml'), env: {} }), 'missing.yaml', 'ENOENT');
  expectError(() => loadConfig({ file: file('h.yaml', 'http: [\n'), env: {} }), 'h.yaml', 'not valid YAML');
  expectError(() => loadConfig({ file: file('i.yaml', '- a\n- b\n'), env: {} }), 'i.yaml', 'mapping');
});

test.after(() => tmp.cleanup());
test.run();
