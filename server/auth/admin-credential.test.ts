import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../errors.ts';
import { tempDir } from '../testing/fixtures.ts';
import { ADMIN_TOKEN_FILE, adminCredential } from './admin-credential.ts';

test('a configured token is used as is; no file', () => {
  const tmp = tempDir();
  assert.equal(adminCredential('configured-token-0123456789', tmp.dir), {
    token: 'configured-token-0123456789',
    created: false,
  });
  tmp.cleanup();
});

test('without one, the first start generates 256 bits into <dataDir>/admin-token (0600); later starts reuse it', () => {
  const tmp = tempDir();
  const first = adminCredential(undefined, join(tmp.dir, 'data'));
  assert.ok(first.created);
  assert.match(first.token, /^[A-Za-z0-9_-]{43}$/);
  const file = join(tmp.dir, 'data', ADMIN_TOKEN_FILE);
  assert.is(first.file, file);
  assert.is((statSync(file).mode & 0o777).toString(8), '600');
  assert.is(readFileSync(file, 'utf8').trim(), first.token);
  const again = adminCredential(undefined, join(tmp.dir, 'data'));
  assert.equal(again, { token: first.token, file, created: false });
  tmp.cleanup();
});

test('a token file readable by others, or garbled, stops startup naming the file', () => {
  const tmp = tempDir();
  const file = join(tmp.dir, ADMIN_TOKEN_FILE);
  writeFileSync(file, `${'A'.repeat(43)}\n`);
  chmodSync(file, 0o644);
  assert.throws(
    () => adminCredential(undefined, tmp.dir),
    (e: unknown) => e instanceof ConfigError && e.message.includes('chmod 600') && e.message.includes(file),
  );
  chmodSync(file, 0o600);
  writeFileSync(file, 'short\n');
  assert.throws(
    () => adminCredential(undefined, tmp.dir),
    (e: unknown) => e instanceof ConfigError && e.message.includes('43 base64url'),
  );
  tmp.cleanup();
});

test.run();
