import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AttemptCredentials, hashToken, matchCredential } from './credentials.ts';
import { TOKEN_PATTERN } from './tokens.ts';

const dir = mkdtempSync(join(tmpdir(), 'railyard-credentials-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('the secret is created once, 0600, and reused: an attempt renders the same tokens after a restart', () => {
  const data = join(dir, 'a');
  const c1 = AttemptCredentials.open(data);
  const file = join(data, 'secret');
  assert.is(statSync(file).mode & 0o777, 0o600);
  const before = readFileSync(file, 'utf8');
  const secrets = c1.issue();
  const c2 = AttemptCredentials.open(data);
  assert.is(readFileSync(file, 'utf8'), before);
  assert.equal(c2.tokens(secrets.nonce), c1.tokens(secrets.nonce));
  assert.is(hashToken(c2.tokens(secrets.nonce).install), secrets.installTokenHash);
});

test('each attempt gets its own random tokens; only their hashes are issued for storage', () => {
  const c = AttemptCredentials.open(join(dir, 'b'));
  const issued = Array.from({ length: 200 }, () => c.issue());
  assert.is(new Set(issued.map((s) => s.nonce)).size, 200);
  assert.ok(
    issued.every((s) => Buffer.from(s.nonce, 'base64url').length >= 16),
    '>= 128 random bits',
  );
  const s = issued[0]!;
  const t = c.tokens(s.nonce);
  assert.match(t.install, TOKEN_PATTERN);
  assert.match(t.firstBoot, TOKEN_PATTERN);
  assert.is.not(t.install, t.firstBoot);
  assert.not.match(JSON.stringify(s), t.install);
  assert.not.match(JSON.stringify(s), t.firstBoot);
  assert.is(s.installTokenHash, hashToken(t.install));
  assert.is(s.firstBootTokenHash, hashToken(t.firstBoot));
});

test('matchCredential: which credential, or none (other attempt, other server, malformed)', () => {
  const c = AttemptCredentials.open(join(dir, 'c'));
  const a = c.issue();
  const b = c.issue();
  const ta = c.tokens(a.nonce);
  assert.is(matchCredential(a, ta.install), 'install');
  assert.is(matchCredential(a, ta.firstBoot), 'first-boot');
  assert.is(matchCredential(b, ta.install), undefined, "another attempt's token");
  assert.is(matchCredential(a, undefined), undefined);
  assert.is(matchCredential(a, ''), undefined);
  assert.is(matchCredential(a, `${ta.install}x`), undefined);
  assert.is(matchCredential(a, ta.install.slice(0, -1) + (ta.install.endsWith('A') ? 'B' : 'A')), undefined);
  const other = AttemptCredentials.open(join(dir, 'd'));
  assert.is(matchCredential(a, other.tokens(a.nonce).install), undefined, 'another server secret');
});

test('the secret never shows up in logs or JSON', () => {
  const c = AttemptCredentials.open(join(dir, 'e'));
  const secret = readFileSync(join(dir, 'e', 'secret'), 'utf8');
  assert.not.match(inspect(c, { depth: 5 }), secret.slice(0, 16));
  assert.not.match(JSON.stringify({ c }), secret.slice(0, 16));
});

test.run();
