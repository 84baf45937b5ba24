import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidRequestError } from '../errors.ts';
import { fixedView, MAC, TOKEN } from './fixtures/views.ts';
import { type DerivedImage, planImage } from './image-plan.ts';
import { renderWriteImage } from './script.ts';

const H = (c: string) => c.repeat(64);
const DERIVED: DerivedImage = {
  dir: 'railyard',
  image: { size: 8_589_934_592, sha256: H('a') },
  zst: { name: 'flatcar_production_image.bin.zst', size: 600, sha256: H('b') },
  mapped: { name: 'flatcar_production_image.bin.mapped.zst', size: 590, sha256: H('c') },
  spans: { name: 'flatcar_production_image.bin.spans', sha256: H('d'), bytes: 700, dataSha256: H('e') },
};
const BASE = 'http://10.0.0.5:8080/mirror/stable/amd64-usr/4230.2.3';

test('the plan: zstd with the pinned digests when derived, else bz2 with the reason', () => {
  const z = planImage({ image: 'zstd', imageWriter: 'sparse' }, DERIVED, BASE);
  assert.is(z.format, 'zstd');
  assert.is(z.writer, 'sparse');
  assert.equal(z.zstd, {
    url: `${BASE}/railyard/flatcar_production_image.bin.zst`,
    sha256: H('b'),
    size: 600,
    mappedUrl: `${BASE}/railyard/flatcar_production_image.bin.mapped.zst`,
    mappedSha256: H('c'),
    mappedSize: 590,
    spansUrl: `${BASE}/railyard/flatcar_production_image.bin.spans`,
    spansSha256: H('d'),
    spansDataSha256: H('e'),
    spansBytes: 700,
    rawSize: 8_589_934_592,
    rawSha256: H('a'),
  });
  assert.equal(planImage({ image: 'bz2', imageWriter: 'sparse' }, DERIVED, BASE), {
    format: 'bz2',
    writer: 'dense',
    reason: 'profile image: bz2',
  });
  assert.match(
    planImage({ image: 'zstd', imageWriter: 'dense' }, undefined, BASE).reason,
    'not on the mirror yet',
  );
});

test('image values that could change the script are refused', () => {
  const values = {
    mac: MAC,
    attemptId: 7,
    reportUrl: 'http://10.0.0.5:8080/api/v1/machines/x/attempts/7/events',
    token: TOKEN,
    installDisk: '/dev/sda',
    mirrorBase: fixedView().mirrorBase,
    version: '4230.2.3',
    keyring: false,
  };
  const good = planImage({ image: 'zstd', imageWriter: 'dense' }, DERIVED, BASE);
  assert.match(renderWriteImage({ ...values, image: good }), `MAPPED_SHA256='${H('c')}'`);
  const z = good.zstd!;
  for (const bad of [
    { ...good, zstd: { ...z, sha256: `${H('b').slice(1)}'` } },
    { ...good, zstd: { ...z, url: 'http://x/$(reboot)' } },
    { ...good, zstd: { ...z, mappedSize: -1 } },
    { ...good, reason: 'a\nb' },
    { format: 'zstd' as const, writer: 'dense' as const, reason: 'no source' },
  ])
    assert.throws(
      () => renderWriteImage({ ...values, image: bad }),
      (e: unknown) => e instanceof InvalidRequestError,
    );
});

test.run();
