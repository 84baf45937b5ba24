import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import { DEFAULT_KEYRING } from '../config.ts';
import { ConfigError, VerificationError } from '../errors.ts';
import { digestsFor } from './testing/fake-upstream.ts';
import { generateTestKey, signDetached } from './testing/keys.ts';
import { parseSha512Digests, SignatureVerifier, sha512File } from './verify.ts';

test('the shipped Flatcar keyring parses: pinned primary and the 2025-2027 signing subkey', async () => {
  const v = await SignatureVerifier.load(DEFAULT_KEYRING, 'F88CFEDEFF29A5B4D9523864E25D9AED0593B34A');
  assert.equal(v.key.getFingerprint().toUpperCase(), 'F88CFEDEFF29A5B4D9523864E25D9AED0593B34A');
  const ids = v.key.subkeys.map((s) => s.getKeyID().toHex().toUpperCase());
  assert.ok(ids.includes('32DA80F91EF52974'), ids.join(' '));
  const signing = await v.key.getSigningKey(undefined, new Date('2026-06-01T00:00:00Z'));
  assert.equal(signing.getKeyID().toHex().toUpperCase(), '32DA80F91EF52974');
});

test('a keyring without the pinned fingerprint is a config error', async () => {
  await assert.rejects(
    SignatureVerifier.load(DEFAULT_KEYRING, '0000000000000000000000000000000000000000'),
    (err: unknown) =>
      err instanceof ConfigError && /holds no primary key with the pinned fingerprint/.test(err.message),
  );
});

test('verifyFile: good, tampered and truncated files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'railyard-verify-'));
  try {
    const key = await generateTestKey();
    writeFileSync(join(dir, 'k.asc'), key.armoredPublic);
    const v = await SignatureVerifier.load(join(dir, 'k.asc'), key.fingerprint);
    const data = Buffer.alloc(300_000, 7);
    writeFileSync(join(dir, 'f.sig'), await signDetached(key, data));
    writeFileSync(join(dir, 'f'), data);
    assert.deepEqual(await v.verifyFile(join(dir, 'f'), join(dir, 'f.sig')), { signer: key.signingKeyId });
    writeFileSync(join(dir, 'f'), data.subarray(0, 1000));
    await assert.rejects(v.verifyFile(join(dir, 'f'), join(dir, 'f.sig')), (err: unknown) => {
      return err instanceof VerificationError && /^f: bad signature/.test(err.message);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('parseSha512Digests reads the SHA512 section of a Flatcar DIGESTS file', async () => {
  const data = Buffer.from('hello');
  const map = parseSha512Digests(digestsFor('x.bin', data));
  assert.equal(map.size, 1);
  const dir = await mkdtemp(join(tmpdir(), 'railyard-verify-'));
  writeFileSync(join(dir, 'x.bin'), data);
  assert.equal(map.get('x.bin'), await sha512File(join(dir, 'x.bin')));
  await rm(dir, { recursive: true, force: true });
});

test.run();
