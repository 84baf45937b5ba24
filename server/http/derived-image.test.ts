// The derived image files through the HTTP side, in-process: the installer of an attempt pins
// the digests railyard computed (or takes the .bz2 path, with the reason, when there are
// none), `GET /api/v1/mirror` and the dashboard show the files (sizes, ratio, time taken),
// the installer's write progress appears beside the image-served progress, and the files
// are served under `<version>/railyard/`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeInstaller } from '../installer/fixtures/decode.ts';
import { DERIVED_DIR, DERIVED_FILES, type DerivedManifest } from '../mirror/derived.ts';
import { testApp } from '../testing/fixtures.ts';

const MAC = '52:54:00:12:34:56';
const HYP = '52-54-00-12-34-56';
const HEX = (c: string) => c.repeat(64);

/** A derived directory whose files have the manifest's sizes (contents are not checked here). */
function publishDerived(dataDir: string): DerivedManifest {
  const dir = join(dataDir, 'mirror/stable/amd64-usr/9999.0.0', DERIVED_DIR);
  mkdirSync(dir, { recursive: true });
  const file = (name: string, size: number, c: string) => {
    writeFileSync(join(dir, name), Buffer.alloc(size, 1));
    return { name, size, sha256: HEX(c) };
  };
  const m: DerivedManifest = {
    format: 1,
    derivedAt: '2026-11-30T10:00:00.000Z',
    seconds: 96.4,
    cpuSeconds: 181.2,
    source: { name: 'flatcar_production_image.bin.bz2', size: 5000, sha512: 'e'.repeat(128) },
    image: {
      name: 'flatcar_production_image.bin',
      size: 8_589_934_592,
      sha256: HEX('a'),
      blockSize: 4096,
      mappedBlocks: 160_000,
      ranges: 450,
    },
    zst: { ...file(DERIVED_FILES.zst, 4000, 'b'), level: 3, long: 0 },
    mapped: file(DERIVED_FILES.mapped, 3900, '9'),
    bmap: file(DERIVED_FILES.bmap, 300, 'c'),
    spans: { ...file(DERIVED_FILES.spans, 40, 'd'), count: 3, bytes: 700_000_000, dataSha256: HEX('f') },
    decompressor: 'lbzip2',
  };
  writeFileSync(join(dir, DERIVED_FILES.manifest), JSON.stringify(m));
  return m;
}

async function installer(t: Awaited<ReturnType<typeof testApp>>): Promise<string> {
  await t.app.request(`/ipxe?mac=${HYP}&platform=pcbios`, { headers: { 'user-agent': 'iPXE/1.0.0' } });
  const cpio = Buffer.from(await (await t.app.request(`/installer/${HYP}.cpio.gz`)).arrayBuffer());
  const raw = gunzipSync(cpio).toString('latin1');
  const json = raw.slice(raw.indexOf('{"ignition"'), raw.lastIndexOf('}') + 1);
  return decodeInstaller(JSON.parse(json)).files.get('/opt/railyard/write-image.sh')?.text ?? '';
}

test('the installer pins the digests railyard computed; without derived files it takes the .bz2 path', async () => {
  const t = await testApp();
  try {
    const before = await installer(t);
    assert.match(before, "FORMAT='bz2'");
    assert.match(before, "REASON='derived .zst not on the mirror yet: installing from the .bz2'");
    const m = publishDerived(t.dataDir);
    const after = await installer(t);
    assert.match(after, "FORMAT='zstd'");
    assert.match(after, "WRITER='dense'");
    assert.match(after, `ZST_SHA256='${m.zst.sha256}'`);
    assert.match(
      after,
      `ZST_URL='http://192.0.2.10:8080/mirror/stable/amd64-usr/9999.0.0/railyard/${DERIVED_FILES.zst}'`,
    );
    assert.match(after, `SPANS_DATA_SHA256='${m.spans.dataSha256}'`);
    assert.match(after, `MAPPED_SHA256='${m.mapped.sha256}'`);
    assert.match(
      after,
      `MAPPED_URL='http://192.0.2.10:8080/mirror/stable/amd64-usr/9999.0.0/railyard/${DERIVED_FILES.mapped}'`,
    );
    assert.match(after, `RAW_SIZE='${m.image.size}'`);
    const served = await t.app.request(`/mirror/stable/amd64-usr/9999.0.0/railyard/${DERIVED_FILES.zst}`, {
      method: 'HEAD',
    });
    assert.is(served.status, 200);
    assert.is(served.headers.get('content-length'), String(m.zst.size));
  } finally {
    t.cleanup();
  }
});

test('GET /api/v1/mirror and the dashboard show the derived files; write progress beside image progress', async () => {
  const t = await testApp();
  try {
    publishDerived(t.dataDir);
    const api = (await (await t.app.request('/api/v1/mirror', { headers: t.adminHeaders })).json()) as {
      boards: Array<{
        versions: Array<{ version: string; files: number; derived: Record<string, unknown> }>;
      }>;
    };
    const v = api.boards[0]?.versions[0];
    assert.is(v?.derived['status'], 'ready');
    assert.is(v?.derived['zstBytes'], 4000);
    assert.is(v?.derived['ratio'], 2147483.6);
    assert.is(v?.derived['seconds'], 96.4);
    assert.is(v?.files, 3, 'railyard/ is not counted as an upstream file');
    await installer(t);
    const token = await t.installToken(MAC);
    const report = (body: unknown) =>
      t.app.request(`/api/v1/machines/${MAC}/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.is((await report({ type: 'install-started' })).status, 201);
    const plan = {
      type: 'progress',
      phase: 'plan',
      image: 'zstd',
      writer: 'sparse',
      reason: 'profile image: zstd',
    };
    assert.is((await report(plan)).status, 201);
    assert.is(
      (await report({ type: 'progress', phase: 'write', bytes: 300_000_000, total: 600_000_000 })).status,
      201,
    );
    assert.is((await report({ type: 'progress', phase: 'write', bytes: -1 })).status, 400);
    const page = await (await t.app.request('/ui', { headers: await t.sessionHeaders() })).text();
    assert.match(page, '× smaller than raw 8.00 GiB, made in');
    assert.match(page, 'zstd (sparse)');
    assert.match(page, /<progress value="300000000" max="600000000"[^>]*>50%<\/progress>/);
  } finally {
    t.cleanup();
  }
});

test.run();
