import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../errors.ts';
import { bearerToken, loadOrCreateSecret, verifyAdminToken } from './tokens.ts';

const dir = mkdtempSync(join(tmpdir(), 'railyard-tokens-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a group/world-readable or malformed secret is refused', () => {
  const file = join(dir, 'e', 'secret');
  loadOrCreateSecret(file);
  chmodSync(file, 0o644);
  assert.throws(
    () => loadOrCreateSecret(file),
    (e: unknown) => e instanceof ConfigError && /chmod 600/.test(String(e)),
  );
});

test('admin token and bearer parsing', () => {
  assert.ok(verifyAdminToken('s3cret-admin-token', 's3cret-admin-token'));
  assert.not.ok(verifyAdminToken('s3cret-admin-token', 's3cret-admin-tokeN'));
  assert.not.ok(verifyAdminToken('s3cret-admin-token', 's3cret'));
  assert.not.ok(verifyAdminToken(undefined, 'x'));
  assert.not.ok(verifyAdminToken('', ''));
  assert.is(bearerToken('Bearer abc'), 'abc');
  assert.is(bearerToken('bearer  abc '), 'abc');
  assert.is(bearerToken('Basic abc'), undefined);
  assert.is(bearerToken(undefined), undefined);
  assert.is(bearerToken('Bearer a b'), undefined);
});

test.run();
