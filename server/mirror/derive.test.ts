// Deriving a release's fast-install files from its verified .bz2, for real (the worker
// process, lbzip2, zstd): contents against the raw image, bmaptool as the peer, a crash
// mid-pass leaves the previous state, a crash after the pass resumes, and an input that is
// not the verified one is refused.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VerificationError } from '../errors.ts';
import { silentLogger } from '../log.ts';
import { tempDir } from '../testing/fixtures.ts';
import { BLOCK_SIZE } from './block-map.ts';
import { parseSpans } from './bmap.ts';
import { type DeriveContext, deriveImage } from './derive.ts';
import { checkDerived, DERIVED_DIR, DERIVED_FILES, PARTIAL_DIR, SOURCE_IMAGE } from './derived.ts';
import { MANIFEST } from './layout.ts';
import { ReadyDerivedCache } from './ready-derived.ts';
import { type ImageLayout, writeImage } from './testing/flatcar-like.ts';

const MiB = 1024 * 1024;
const LAYOUT: ImageLayout = {
  size: 48 * MiB,
  segments: [
    { offset: 0, length: 20_000 },
    { offset: 2 * MiB, length: 9 * MiB },
    { offset: 20 * MiB + 4096, length: 12_288 },
    { offset: 30 * MiB, length: 6 * MiB },
    { offset: 48 * MiB - 4096, length: 4096 },
  ],
  partitions: [],
};

interface Release {
  dir: string;
  raw: Buffer;
  bz2: Buffer;
  ctx: DeriveContext;
  cleanup(): void;
}

const sha = (algo: string, b: Buffer) => createHash(algo).update(b).digest('hex');

const image = (() => {
  const t = tempDir('railyard-derive-src-');
  try {
    writeImage(join(t.dir, 'raw.bin'), LAYOUT);
    execFileSync('bzip2', ['-1', '-k', join(t.dir, 'raw.bin')]);
    return { raw: readFileSync(join(t.dir, 'raw.bin')), bz2: readFileSync(join(t.dir, 'raw.bin.bz2')) };
  } finally {
    t.cleanup();
  }
})();

function release(): Release {
  const t = tempDir('railyard-derive-');
  const dir = join(t.dir, 'mirror', 'stable', 'amd64-usr', '9999.0.0');
  mkdirSync(dir, { recursive: true });
  const { raw, bz2 } = image;
  writeFileSync(join(dir, SOURCE_IMAGE), bz2);
  const manifest = {
    version: '9999.0.0',
    files: [{ name: SOURCE_IMAGE, size: bz2.length, sha512: sha('sha512', bz2) }],
  };
  writeFileSync(join(dir, MANIFEST), JSON.stringify(manifest));
  const ctx: DeriveContext = {
    settings: { level: 3, long: 0, threads: 2 },
    log: silentLogger(),
    trashDir: join(t.dir, 'mirror', '.staging', '.trash'),
  };
  return { dir, raw, bz2, ctx, cleanup: t.cleanup };
}

function nonZeroBlocks(image: Buffer): string {
  const out: number[] = [];
  for (let b = 0; b * BLOCK_SIZE < image.length; b++)
    if (image.subarray(b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE).some((x) => x !== 0)) out.push(b);
  return out.join(',');
}

test('derived files: .zst, bmap, spans and digests match the raw image; bmaptool writes it back', async () => {
  const r = release();
  try {
    const m = await deriveImage(r.ctx, r.dir);
    const d = join(r.dir, DERIVED_DIR);
    assert.equal(readdirSync(r.dir).sort(), ['.verified.json', DERIVED_DIR, SOURCE_IMAGE].sort());
    assert.ok(readFileSync(join(r.dir, SOURCE_IMAGE)).equals(r.bz2), 'the upstream file is untouched');
    assert.is(m.image.sha256, sha('sha256', r.raw));
    assert.is(m.image.size, r.raw.length);
    assert.is(m.source.sha512, sha('sha512', r.bz2));
    const zst = readFileSync(join(d, DERIVED_FILES.zst));
    assert.is(m.zst.sha256, sha('sha256', zst));
    assert.ok(
      execFileSync('zstd', ['-dc', join(d, DERIVED_FILES.zst)], { maxBuffer: 64 * MiB }).equals(r.raw),
    );
    const bmap = readFileSync(join(d, DERIVED_FILES.bmap), 'utf8');
    const blocks = [...bmap.matchAll(/<Range chksum="[0-9a-f]{64}"> (\d+)(?:-(\d+))? <\/Range>/g)].flatMap(
      (x) => {
        const [a, b] = [Number(x[1]), Number(x[2] ?? x[1])];
        return Array.from({ length: b - a + 1 }, (_, i) => a + i);
      },
    );
    assert.ok(blocks.join(',') === nonZeroBlocks(r.raw), 'bmap ranges = the non-zero blocks');
    execFileSync('bmaptool', [
      '-q',
      'copy',
      '--bmap',
      join(d, DERIVED_FILES.bmap),
      join(d, DERIVED_FILES.zst),
      join(d, '..', '..', 'copy.img'),
    ]);
    assert.ok(readFileSync(join(r.dir, '..', 'copy.img')).equals(r.raw), 'bmaptool copy gives the raw image');
    const spans = parseSpans(readFileSync(join(d, DERIVED_FILES.spans), 'utf8'));
    const spanBytes = Buffer.concat(spans.map((s) => r.raw.subarray(s.offset, s.offset + s.length)));
    assert.is(m.spans.dataSha256, sha('sha256', spanBytes));
    const mapped = execFileSync('zstd', ['-dc', join(d, DERIVED_FILES.mapped)], { maxBuffer: 64 * MiB });
    assert.ok(mapped.equals(spanBytes), '.mapped.zst decodes to the spans bytes, in order');
    assert.is(m.mapped.sha256, sha('sha256', readFileSync(join(d, DERIVED_FILES.mapped))));
    assert.is(m.spans.bytes, spanBytes.length);
    const sums = execFileSync('sha256sum', ['-c', '--ignore-missing', DERIVED_FILES.sums], {
      cwd: d,
    }).toString();
    assert.match(sums, `${DERIVED_FILES.zst}: OK`);
    const check = await checkDerived(r.dir, true);
    assert.ok(check.ok, JSON.stringify(check));
    assert.ok(m.cpuSeconds > 0 && m.seconds > 0);
  } finally {
    r.cleanup();
  }
});

test('the installer’s ready check (ReadyDerivedCache): kept while railyard/ is unchanged, re-read when it changes', async () => {
  const r = release();
  try {
    const later = new ReadyDerivedCache(() => Date.now() + 10_000);
    assert.is(await later.get(r.dir), undefined, 'nothing derived yet');
    const m = await deriveImage(r.ctx, r.dir);
    const now = new ReadyDerivedCache();
    const fresh = [await now.get(r.dir), await now.get(r.dir)];
    assert.is(fresh[0]?.zst.sha256, m.zst.sha256);
    assert.is.not(fresh[0], fresh[1], 'a directory changed just now is read again');
    const first = await later.get(r.dir);
    assert.is(first?.zst.sha256, m.zst.sha256);
    assert.is(await later.get(r.dir), first, 'kept: one stat, no manifest read');
    rmSync(join(r.dir, DERIVED_DIR, DERIVED_FILES.mapped));
    assert.is(await later.get(r.dir), undefined, 'a file gone from railyard/ is seen at once');
    rmSync(join(r.dir, DERIVED_DIR), { recursive: true });
    assert.is(await later.get(r.dir), undefined);
    await deriveImage(r.ctx, r.dir);
    assert.is((await later.get(r.dir))?.zst.sha256, m.zst.sha256, 'derived again: ready again');
  } finally {
    r.cleanup();
  }
});

test('a crash mid-pass publishes nothing and leaves the previous derived files; the rerun completes', async () => {
  const r = release();
  try {
    const first = await deriveImage(r.ctx, r.dir);
    writeFileSync(join(r.dir, DERIVED_DIR, 'marker'), 'previous');
    const part = join(r.dir, PARTIAL_DIR, `${DERIVED_FILES.zst}.part`);
    const killed = deriveImage(
      { ...r.ctx, worker: { onStart: (pid) => killWhen(() => existsSync(part), pid) } },
      r.dir,
    );
    await killed.then(
      () => assert.unreachable('the killed derivation must fail'),
      (err: Error) => assert.match(err.message, /worker/),
    );
    assert.is(readFileSync(join(r.dir, DERIVED_DIR, 'marker'), 'utf8'), 'previous', 'previous state intact');
    assert.not.ok(existsSync(join(r.dir, DERIVED_DIR, `${DERIVED_FILES.zst}.part`)));
    const again = await deriveImage(r.ctx, r.dir);
    assert.is(again.zst.sha256, first.zst.sha256, 'same bytes: zstd output is deterministic');
    assert.not.ok(existsSync(join(r.dir, PARTIAL_DIR)));
    assert.not.ok(existsSync(join(r.dir, DERIVED_DIR, 'marker')), 'the new directory replaced the old one');
  } finally {
    r.cleanup();
  }
});

test('a crash after the pass resumes without redoing it', async () => {
  const r = release();
  try {
    const spawned: number[] = [];
    let kills = 0;
    const pass = join(r.dir, PARTIAL_DIR, 'pass.json');
    // The second worker (round trip) is killed: the pass is recorded by then.
    await deriveImage(
      {
        ...r.ctx,
        worker: {
          onStart: (pid) => {
            spawned.push(pid);
            if (spawned.length === 2 && kills++ === 0) process.kill(-pid, 'SIGKILL');
          },
        },
      },
      r.dir,
    ).catch(() => undefined);
    assert.ok(existsSync(pass), 'pass.json recorded');
    assert.not.ok(existsSync(join(r.dir, DERIVED_DIR)));
    const resumed: number[] = [];
    const m = await deriveImage({ ...r.ctx, worker: { onStart: (pid) => resumed.push(pid) } }, r.dir);
    assert.is(resumed.length, 1, 'only the round trip ran again');
    assert.is(m.image.sha256, sha('sha256', r.raw));
  } finally {
    r.cleanup();
  }
});

test('an input that is not the verified .bz2 is refused and nothing is published', async () => {
  const r = release();
  try {
    writeFileSync(
      join(r.dir, MANIFEST),
      JSON.stringify({ files: [{ name: SOURCE_IMAGE, sha512: 'a'.repeat(128) }] }),
    );
    await deriveImage(r.ctx, r.dir).then(
      () => assert.unreachable(),
      (err: unknown) => assert.instance(err, VerificationError),
    );
    assert.not.ok(existsSync(join(r.dir, DERIVED_DIR)));
    assert.equal(readdirSync(join(r.dir, PARTIAL_DIR)), [], 'the partial work is dropped');
  } finally {
    r.cleanup();
  }
});

function killWhen(ready: () => boolean, pid: number): void {
  const timer = setInterval(() => {
    if (!ready()) return;
    clearInterval(timer);
    process.kill(-pid, 'SIGKILL');
  }, 5);
}

test.run();
