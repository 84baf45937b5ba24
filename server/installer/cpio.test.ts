import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidRequestError } from '../errors.ts';
import { buildGzipCpio, type CpioFile, writeNewc } from './cpio.ts';

const GOLDEN = new URL('./fixtures/sample.golden.cpio', import.meta.url).pathname;
const FILES: CpioFile[] = [
  { path: 'usr/share/oem/config.ign', data: '{"ignition":{"version":"3.3.0"}}\n' },
  { path: 'usr/share/oem/odd', data: Buffer.from([0, 1, 2, 255, 10]), mode: 0o600 },
  { path: 'opt/run.sh', data: '#!/bin/sh\necho hi\n', mode: 0o755 },
];
const dir = mkdtempSync(join(tmpdir(), 'railyard-cpio-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('golden bytes (UPDATE_GOLDEN=1 regenerates)', () => {
  const bytes = writeNewc(FILES);
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, bytes);
  assert.ok(existsSync(GOLDEN), 'no golden file: run with UPDATE_GOLDEN=1');
  assert.ok(bytes.equals(readFileSync(GOLDEN)), 'cpio bytes differ from fixtures/sample.golden.cpio');
});

test('GNU cpio -t lists directories before files, then the files', () => {
  const list = execFileSync('cpio', ['-t', '--quiet'], { input: writeNewc(FILES) })
    .toString()
    .trim()
    .split('\n');
  assert.equal(list, [
    'opt',
    'usr',
    'usr/share',
    'usr/share/oem',
    'opt/run.sh',
    'usr/share/oem/config.ign',
    'usr/share/oem/odd',
  ]);
});

test('GNU cpio -i extracts identical contents and modes', () => {
  const out = mkdtempSync(join(dir, 'x-'));
  execFileSync('cpio', ['-i', '-d', '--quiet', '--no-absolute-filenames'], {
    input: writeNewc(FILES),
    cwd: out,
  });
  for (const f of FILES) {
    const data = typeof f.data === 'string' ? Buffer.from(f.data) : f.data;
    assert.ok(readFileSync(join(out, f.path)).equals(data), f.path);
    assert.is(statSync(join(out, f.path)).mode & 0o777, f.mode ?? 0o644, f.path);
  }
  assert.ok(statSync(join(out, 'usr/share/oem')).isDirectory());
});

test('header fields: newc magic, 4-byte alignment, trailer, zero mtime/uid/gid', () => {
  const bytes = writeNewc(FILES);
  assert.is(bytes.length % 4, 0);
  let off = 0;
  const names: string[] = [];
  while (off < bytes.length) {
    const h = bytes.subarray(off, off + 110).toString('ascii');
    assert.is(h.slice(0, 6), '070701');
    const field = (i: number) => Number.parseInt(h.slice(6 + i * 8, 14 + i * 8), 16);
    assert.equal([field(2), field(3), field(5)], [0, 0, 0]);
    const nameSize = field(11);
    names.push(bytes.subarray(off + 110, off + 110 + nameSize - 1).toString());
    off += Math.ceil((110 + nameSize) / 4) * 4;
    off += Math.ceil(field(6) / 4) * 4;
  }
  assert.is(names.at(-1), 'TRAILER!!!');
  assert.is(off, bytes.length);
});

test('gzip: reproducible, valid for gzip -t, mtime 0 in the header', async () => {
  const a = await buildGzipCpio(FILES);
  const b = await buildGzipCpio([...FILES].reverse());
  assert.ok(a.equals(b));
  assert.is(a.readUInt32LE(4), 0, 'gzip header mtime');
  const file = join(dir, 'x.cpio.gz');
  writeFileSync(file, a);
  execFileSync('gzip', ['-t', file]);
  assert.ok(gunzipSync(a).equals(writeNewc(FILES)));
});

test('unsafe or conflicting paths are refused', () => {
  for (const path of ['/etc/x', '../x', 'a/../b', 'a//b', 'a/./b', '', 'a b', 'a/\nb']) {
    assert.throws(
      () => writeNewc([{ path, data: '' }]),
      (e: unknown) => e instanceof InvalidRequestError,
      path,
    );
  }
  assert.throws(
    () =>
      writeNewc([
        { path: 'a', data: '' },
        { path: 'a', data: '' },
      ]),
    /duplicate/,
  );
  assert.throws(
    () =>
      writeNewc([
        { path: 'a', data: '' },
        { path: 'a/b', data: '' },
      ]),
    /both a file and a directory/,
  );
});

test('build time of an installer-sized archive (logged, not asserted)', async () => {
  const files: CpioFile[] = [
    { path: 'usr/share/oem/config.ign', data: 'x'.repeat(12_000) },
    { path: 'usr/share/oem/keyring.asc', data: 'k'.repeat(4_000) },
  ];
  await buildGzipCpio(files);
  const runs = 50;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await buildGzipCpio(files);
  const ms = (performance.now() - t0) / runs;
  console.log(
    `    cpio+gzip build: ${ms.toFixed(3)} ms per archive (mean of ${runs}; budget well under 50 ms)`,
  );
});

test.run();
