import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../errors.ts';
import { bearerToken, loadOrCreateSecret, MachineTokens, TOKEN_PATTERN, verifyAdminToken } from './tokens.ts';

const A = '52:54:00:00:00:01';
const B = '52:54:00:00:00:02';
const dir = mkdtempSync(join(tmpdir(), 'railyard-tokens-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('the secret is created once, 0600, and reused', () => {
  const data = join(dir, 'a');
  const t1 = MachineTokens.open(data);
  const file = join(data, 'secret');
  assert.is(statSync(file).mode & 0o777, 0o600);
  const before = readFileSync(file, 'utf8');
  const t2 = MachineTokens.open(data);
  assert.is(readFileSync(file, 'utf8'), before);
  assert.is(t1.tokenFor(A), t2.tokenFor(A));
});

test('tokens are per machine and verify only for that machine', () => {
  const tokens = MachineTokens.open(join(dir, 'b'));
  const a = tokens.tokenFor(A);
  assert.match(a, TOKEN_PATTERN);
  assert.is.not(a, tokens.tokenFor(B));
  assert.ok(tokens.verify(A, a));
  assert.not.ok(tokens.verify(B, a));
  assert.not.ok(tokens.verify(A, undefined));
  assert.not.ok(tokens.verify(A, ''));
  assert.not.ok(tokens.verify(A, `${a}x`));
  assert.not.ok(tokens.verify(A, a.slice(0, -1) + (a.endsWith('A') ? 'B' : 'A')));
  assert.not.ok(MachineTokens.open(join(dir, 'c')).verify(A, a), 'another server secret');
});

test('the secret never shows up in logs or JSON', () => {
  const tokens = MachineTokens.open(join(dir, 'd'));
  const secret = readFileSync(join(dir, 'd', 'secret'), 'utf8');
  assert.not.match(inspect(tokens, { depth: 5 }), secret.slice(0, 16));
  assert.not.match(JSON.stringify({ tokens }), secret.slice(0, 16));
});

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
