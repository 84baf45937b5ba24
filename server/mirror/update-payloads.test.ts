// mirror.updates: payloads staged, checked against upstream's .sha256/.DIGESTS, published
// atomically with precomputed hashes, resumed, retained with their versions, re-served in
// the upstream layout for a downstream railyard. Real HTTP against the fake upstream.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MirrorLayout } from './layout.ts';
import { b64, buildUpdatePayloads } from './testing/fake-updates.ts';
import { buildRelease, FakeUpstream, setLink } from './testing/fake-upstream.ts';
import { createHarness, type Harness } from './testing/harness.ts';
import { PAYLOAD, readPayloadManifest } from './update-payloads.ts';

const V1 = '4230.2.3';
const V2 = '4230.2.4';

async function harnessWith(version = V1): Promise<Harness> {
  const h = await createHarness();
  await buildRelease(h.upstreamRoot, h.key, version, { size: 10_000 });
  setLink(h.upstreamRoot, version);
  return h;
}

const updatesOn = (h: Harness, extra: Record<string, unknown> = {}) => ({
  updates: true,
  updateUpstream: h.upstream.template.replace('{channel}', 'update'),
  ...extra,
});

test('payload and extensions mirrored with sizes and base64 hashes; exact bytes re-hosted', async () => {
  const h = await harnessWith();
  try {
    const files = buildUpdatePayloads(h.upstreamRoot, V1, { extensions: ['oem-qemu.gz'], digests: true });
    const record = await h.refresh({}, updatesOn(h, { updateFiles: ['oem-qemu.gz', 'flatcar-zfs.gz'] }));
    assert.ok(record.ok, record.error);
    const m = await readPayloadManifest(MirrorLayout.forDataDir(h.dataDir), 'amd64-usr', V1);
    assert.ok(m, 'manifest published');
    const payload = files.get(PAYLOAD) as Buffer;
    assert.equal(m.files[0], {
      name: PAYLOAD,
      size: payload.length,
      sha1: b64('sha1', payload),
      sha256: b64('sha256', payload),
      sha256Hex: Buffer.from(b64('sha256', payload), 'base64').toString('hex'),
      checked: ['sha256', 'sha512'],
    });
    assert.is(m.files[1]?.name, 'oem-qemu.gz');
    assert.equal(m.missing, ['flatcar-zfs.gz'], 'an extension upstream lacks is recorded, not an error');
    const served = h.mirrorPath('update', 'amd64-usr', V1, PAYLOAD);
    assert.ok(readFileSync(served).equals(payload), 'exact bytes');
    assert.ok(existsSync(`${served}.sha256`) && existsSync(`${served}.DIGESTS`));
    assert.not.ok(existsSync(h.mirrorPath('.staging', 'update', 'amd64-usr', V1)), 'staging moved away');
    const again = await h.refresh({}, updatesOn(h));
    assert.is(again.bytes, 0, 'published payloads are not fetched again');
  } finally {
    await h.close();
  }
});

test('a wrong .sha256 fails the version and publishes nothing; absent .sha256 is generated', async () => {
  const h = await harnessWith();
  try {
    buildUpdatePayloads(h.upstreamRoot, V1, { sha256: 'wrong' });
    const record = await h.refresh({}, updatesOn(h));
    assert.not.ok(record.ok);
    assert.match(record.versions[0]?.reason ?? '', /update payloads amd64-usr\/4230\.2\.3: .*does not match/);
    assert.not.ok(existsSync(h.mirrorPath('update', 'amd64-usr', V1)), 'nothing published');
    assert.ok(existsSync(h.mirrorPath('stable', 'amd64-usr', V1)), 'the image version stays published');
    const files = buildUpdatePayloads(h.upstreamRoot, V1, { sha256: 'none' });
    assert.ok((await h.refresh({}, updatesOn(h))).ok, 'retried on the next refresh');
    const sum = readFileSync(h.mirrorPath('update', 'amd64-usr', V1, `${PAYLOAD}.sha256`), 'utf8');
    const hex = Buffer.from(b64('sha256', files.get(PAYLOAD) as Buffer), 'base64').toString('hex');
    assert.is(sum, `${hex}  ${PAYLOAD}\n`);
  } finally {
    await h.close();
  }
});

test('a missing payload upstream is a failure naming it; updates off fetches none', async () => {
  const h = await harnessWith();
  try {
    assert.ok((await h.refresh()).ok);
    assert.not.ok(h.upstream.gets(PAYLOAD).length, 'mirror.updates off: no payload requests');
    const record = await h.refresh({}, updatesOn(h));
    assert.match(record.error ?? '', /flatcar_production_update\.gz: upstream answered 404/);
  } finally {
    await h.close();
  }
});

test('an interrupted payload download resumes with Range', async () => {
  const h = await harnessWith();
  try {
    const files = buildUpdatePayloads(h.upstreamRoot, V1, { size: 300_000 });
    const path = `/update/amd64-usr/${V1}/${PAYLOAD}`;
    h.upstream.fault(path, { truncateAt: 120_000, times: 10 });
    const first = await h.refresh({}, updatesOn(h, { retries: 0 }));
    assert.not.ok(first.ok);
    const record = await h.refresh({}, updatesOn(h));
    assert.ok(record.ok, record.error);
    assert.ok(
      h.upstream.gets(PAYLOAD).some((r) => r.range?.startsWith('bytes=') && r.status === 206),
      'resumed',
    );
    const served = readFileSync(h.mirrorPath('update', 'amd64-usr', V1, PAYLOAD));
    assert.ok(served.equals(files.get(PAYLOAD) as Buffer));
  } finally {
    await h.close();
  }
});

test('retention: payloads go with their version, unless a machine is updating to it', async () => {
  const h = await harnessWith();
  try {
    buildUpdatePayloads(h.upstreamRoot, V1);
    assert.ok(
      (
        await h.refresh(
          {},
          updatesOn(h, {
            releases: [{ channel: 'stable', board: 'amd64-usr', versions: ['current'], keep: 1 }],
          }),
        )
      ).ok,
    );
    await buildRelease(h.upstreamRoot, h.key, V2, { size: 10_000 });
    setLink(h.upstreamRoot, V2);
    buildUpdatePayloads(h.upstreamRoot, V2);
    const mirror = updatesOn(h, {
      releases: [{ channel: 'stable', board: 'amd64-usr', versions: ['current'], keep: 1 }],
    });
    const inUse = async (channel: string) => (channel === 'update' ? [V1] : []);
    let record = await h.refresh({ inUse }, mirror);
    assert.ok(record.ok, record.error);
    assert.ok(record.removed.includes(`stable/amd64-usr/${V1}`), 'image version removed');
    assert.ok(existsSync(h.mirrorPath('update', 'amd64-usr', V1)), 'in use: payload kept');
    record = await h.refresh({}, mirror);
    assert.ok(record.removed.includes(`update/amd64-usr/${V1}`), 'payload removed once unused');
    assert.ok(existsSync(h.mirrorPath('update', 'amd64-usr', V2, PAYLOAD)));
  } finally {
    await h.close();
  }
});

test('hierarchy: a downstream railyard mirrors payloads from an upstream railyard layout', async () => {
  const h = await harnessWith();
  const site = await new FakeUpstream(join(h.dataDir, 'mirror')).start();
  const down = await createHarness({ key: h.key });
  try {
    const files = buildUpdatePayloads(h.upstreamRoot, V1);
    assert.ok((await h.refresh({}, updatesOn(h))).ok);
    const record = await down.refresh(
      {},
      {
        upstream: site.template,
        updates: true,
        updateUpstream: site.template.replace('{channel}', 'update'),
      },
    );
    assert.ok(record.ok, record.error);
    const m = await readPayloadManifest(MirrorLayout.forDataDir(down.dataDir), 'amd64-usr', V1);
    assert.equal(m?.files[0]?.checked, ['sha256'], 'checked against the upstream railyard .sha256');
    assert.ok(
      readFileSync(down.mirrorPath('update', 'amd64-usr', V1, PAYLOAD)).equals(files.get(PAYLOAD) as Buffer),
    );
  } finally {
    await site.close();
    await down.close();
    await h.close();
  }
});

test.run();
