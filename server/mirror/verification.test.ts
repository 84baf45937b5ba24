// Refreshes that must fail verification: nothing published, a message naming the file.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import { buildRelease, setLink } from './testing/fake-upstream.ts';
import { createHarness, type Harness } from './testing/harness.ts';
import { generateTestKey, signDetachedAt } from './testing/keys.ts';

const IMAGE = 'flatcar_production_image.bin.bz2';
const DAY = 86_400_000;

async function expectFailure(h: Harness, reason: RegExp, versions?: string[]) {
  const r = await h.refresh(versions ? { filter: { versions } } : {});
  assert.equal(r.ok, false);
  assert.match(r.versions[0]?.reason ?? '', reason);
  assert.ok(!existsSync(h.mirrorPath('stable/amd64-usr/100.0.0')), 'nothing published');
  assert.ok(!existsSync(h.mirrorPath('stable/amd64-usr/current')), 'no current link');
  return r;
}

async function scenario(
  fn: (h: Harness, dir: string) => Promise<void>,
  key?: Awaited<ReturnType<typeof generateTestKey>>,
) {
  const h = await createHarness(key ? { key } : {});
  try {
    const dir = await buildRelease(h.upstreamRoot, h.key, '100.0.0');
    setLink(h.upstreamRoot, '100.0.0');
    await fn(h, dir);
  } finally {
    await h.close();
  }
}

test('bad signature (file altered upstream)', () =>
  scenario(async (h, dir) => {
    const data = readFileSync(join(dir, IMAGE));
    data[100] = (data[100] ?? 0) ^ 0xff;
    writeFileSync(join(dir, IMAGE), data);
    await expectFailure(h, /flatcar_production_image\.bin\.bz2: bad signature/);
    assert.ok(!existsSync(h.mirrorPath('.staging/stable/amd64-usr/100.0.0', IMAGE)), 'bad bytes discarded');
  }));

test('wrong file served under the name', () =>
  scenario(async (h, dir) => {
    writeFileSync(join(dir, IMAGE), readFileSync(join(dir, 'flatcar_production_pxe.vmlinuz')));
    await expectFailure(h, /flatcar_production_image\.bin\.bz2: bad signature/);
  }));

test('signature from another key', async () => {
  const other = await generateTestKey({ name: 'intruder' });
  const h = await createHarness();
  try {
    await buildRelease(h.upstreamRoot, other, '100.0.0');
    setLink(h.upstreamRoot, '100.0.0');
    await expectFailure(h, new RegExp(`version\\.txt: signed by unknown key ${other.signingKeyId}`));
  } finally {
    await h.close();
  }
});

test('signing subkey expired when the signature was made', async () => {
  const key = await generateTestKey({ created: new Date(Date.now() - 10 * DAY), subkeyLifetime: 86_400 });
  const h = await createHarness({ key });
  try {
    const sign = (d: Uint8Array) => signDetachedAt(key, d, new Date(Date.now() - DAY));
    await buildRelease(h.upstreamRoot, key, '100.0.0', { sign, noAsc: true });
    setLink(h.upstreamRoot, '100.0.0');
    await expectFailure(
      h,
      /version\.txt: signing key [0-9A-F]{16} was not valid when the signature was made.*expired/,
    );
  } finally {
    await h.close();
  }
});

test('a signature made while the subkey was valid still passes after it expired', async () => {
  const key = await generateTestKey({ created: new Date(Date.now() - 10 * DAY), subkeyLifetime: 86_400 });
  const h = await createHarness({ key });
  try {
    const sign = (d: Uint8Array) => signDetachedAt(key, d, new Date(Date.now() - 9.5 * DAY));
    await buildRelease(h.upstreamRoot, key, '100.0.0', { sign, noAsc: true });
    setLink(h.upstreamRoot, '100.0.0');
    const r = await h.refresh();
    assert.equal(r.ok, true, r.error);
  } finally {
    await h.close();
  }
});

test('SHA-512 in DIGESTS does not match', () =>
  scenario(async (h, dir) => {
    const digests = readFileSync(join(dir, `${IMAGE}.DIGESTS`), 'utf8');
    writeFileSync(join(dir, `${IMAGE}.DIGESTS`), digests.replace(/^[0-9a-f]{128}/m, 'a'.repeat(128)));
    await expectFailure(h, /flatcar_production_image\.bin\.bz2: SHA-512 [0-9a-f]+… does not match/);
  }));

test('signed DIGESTS.asc listing another SHA-512', () =>
  scenario(async (h, dir) => {
    const { clearsign } = await import('./testing/keys.ts');
    const digests = readFileSync(join(dir, `${IMAGE}.DIGESTS`), 'utf8');
    const forged = await clearsign(h.key, digests.replace(/^[0-9a-f]{128}/m, 'b'.repeat(128)));
    writeFileSync(join(dir, `${IMAGE}.DIGESTS.asc`), forged);
    await expectFailure(
      h,
      /flatcar_production_image\.bin\.bz2: SHA-512 .* does not match flatcar_production_image\.bin\.bz2\.DIGESTS\.asc/,
    );
  }));

test('DIGESTS.asc signed by another key', async () => {
  const other = await generateTestKey({ name: 'intruder' });
  await scenario(async (h, dir) => {
    const { clearsign } = await import('./testing/keys.ts');
    writeFileSync(
      join(dir, `${IMAGE}.DIGESTS.asc`),
      await clearsign(other, readFileSync(join(dir, `${IMAGE}.DIGESTS`), 'utf8')),
    );
    await expectFailure(h, /flatcar_production_image\.bin\.bz2\.DIGESTS\.asc: signed by unknown key/);
  });
});

test('missing .sig upstream', () =>
  scenario(async (h, dir) => {
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, `${IMAGE}.sig`));
    await expectFailure(h, /flatcar_production_image\.bin\.bz2: no signature/);
  }));

test('version.txt naming another version', () =>
  scenario(async (h, dir) => {
    const { writeArtifact, versionTxt } = await import('./testing/fake-upstream.ts');
    await writeArtifact(dir, 'version.txt', Buffer.from(versionTxt('99.0.0')), h.key);
    await expectFailure(h, /version\.txt: FLATCAR_VERSION is 99\.0\.0, expected 100\.0\.0/, ['100.0.0']);
  }));

test.run();
