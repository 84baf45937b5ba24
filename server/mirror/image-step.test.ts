// The derived image files through `refresh`: made before a new release is published (one
// rename publishes both), checked at every refresh and rebuilt when missing or corrupt,
// removed with the version by retention; an aborted refresh publishes nothing. Upstream
// files stay byte-identical to the upstream's.
import { execFileSync } from 'node:child_process';
import { existsSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../log.ts';
import { tempDir } from '../testing/fixtures.ts';
import { MirrorCatalog } from './catalog.ts';
import { checkDerived, DERIVED_DIR, DERIVED_FILES, PARTIAL_DIR, SOURCE_IMAGE } from './derived.ts';
import { refreshMirror } from './refresh.ts';
import { formatStatus } from './report.ts';
import { buildRelease, setLink, writeArtifact } from './testing/fake-upstream.ts';
import { writeImage } from './testing/flatcar-like.ts';
import { createHarness, type Harness } from './testing/harness.ts';

const MiB = 1024 * 1024;
const ON = { deriveImages: true, deriveThreads: 2 };

const bz2 = (() => {
  const t = tempDir('railyard-image-step-');
  try {
    writeImage(join(t.dir, 'raw.bin'), {
      size: 24 * MiB,
      segments: [
        { offset: 0, length: 64 * 1024 },
        { offset: 5 * MiB, length: 3 * MiB },
      ],
      partitions: [],
    });
    return execFileSync('bzip2', ['-1', '-c', join(t.dir, 'raw.bin')], { maxBuffer: 64 * MiB });
  } finally {
    t.cleanup();
  }
})();

async function release(h: Harness, version: string): Promise<string> {
  const dir = await buildRelease(h.upstreamRoot, h.key, version, { size: 4096 });
  await writeArtifact(dir, SOURCE_IMAGE, bz2, h.key);
  setLink(h.upstreamRoot, version);
  return dir;
}

function flipByte(file: string, at: number): void {
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.from([readFileSync(file)[at]! ^ 0xff]), 0, 1, at);
}

test('a new release is published with its derived files; the upstream files are byte-identical', async () => {
  const h = await createHarness();
  try {
    const upstreamDir = await release(h, '100.0.0');
    const r = await h.refresh({}, ON);
    assert.is(r.versions[0]?.status, 'new');
    assert.is(r.versions[0]?.steps?.['image']?.status, 'new', JSON.stringify(r.versions[0]));
    const dir = h.mirrorPath('stable', 'amd64-usr', '100.0.0');
    for (const name of readdirSync(upstreamDir))
      assert.ok(readFileSync(join(dir, name)).equals(readFileSync(join(upstreamDir, name))), name);
    const ours = readdirSync(dir).filter((n) => !existsSync(join(upstreamDir, n)));
    assert.equal(ours.sort(), ['.verified.json', DERIVED_DIR], 'railyard adds only its own names');
    assert.ok((await checkDerived(dir, true)).ok);
    assert.equal(readdirSync(h.mirrorPath('.staging', 'stable', 'amd64-usr')), []);
    const again = await h.refresh({}, ON);
    assert.is(again.versions[0]?.steps?.['image']?.status, 'ok');
    const status = formatStatus(await new MirrorCatalog(h.mirrorPath()).list(), 86_400_000);
    assert.match(
      status,
      /100\.0\.0 .* zst \d+(\.\d+)? [KM]B \(raw 25\.2 MB [\d.]+x, \.bz2 .* mapped, made in [\d.]+ s \/ [\d.]+ CPU s\) {2}<- current/,
    );
  } finally {
    await h.close();
  }
});

test('missing or corrupt derived files are rebuilt from the re-verified .bz2', async () => {
  const h = await createHarness();
  try {
    await release(h, '100.0.0');
    await h.refresh({}, ON);
    const dir = h.mirrorPath('stable', 'amd64-usr', '100.0.0');
    const zst = join(dir, DERIVED_DIR, DERIVED_FILES.zst);
    const good = readFileSync(zst);
    flipByte(zst, 1000);
    let r = await h.refresh({}, ON);
    assert.is(r.versions[0]?.steps?.['image']?.status, 'rebuilt');
    assert.match(r.versions[0]?.steps?.['image']?.reason ?? '', 'SHA-256 differs');
    assert.ok(readFileSync(zst).equals(good), 'the rebuilt .zst is the same bytes');
    rmSync(join(dir, DERIVED_DIR), { recursive: true });
    r = await h.refresh({}, ON);
    assert.is(r.versions[0]?.steps?.['image']?.status, 'rebuilt');
    assert.is(r.versions[0]?.steps?.['image']?.reason, 'missing');
    flipByte(join(dir, SOURCE_IMAGE), 500);
    rmSync(join(dir, DERIVED_DIR), { recursive: true });
    r = await h.refresh({}, ON);
    assert.is(
      r.versions[0]?.steps?.['image']?.status,
      'failed',
      'a .bz2 that no longer verifies is not derived from',
    );
    assert.not.ok(existsSync(join(dir, DERIVED_DIR)));
  } finally {
    await h.close();
  }
});

test('retention removes a version with its derived files', async () => {
  const h = await createHarness();
  try {
    for (const v of ['100.0.0', '100.1.0']) {
      await release(h, v);
      await h.refresh(
        {},
        { ...ON, releases: [{ channel: 'stable', board: 'amd64-usr', versions: ['current'], keep: 1 }] },
      );
    }
    assert.not.ok(existsSync(h.mirrorPath('stable', 'amd64-usr', '100.0.0')));
    assert.ok(existsSync(h.mirrorPath('stable', 'amd64-usr', '100.1.0', DERIVED_DIR, DERIVED_FILES.zst)));
    assert.not.ok(
      existsSync(h.mirrorPath('.staging', '.trash')) &&
        readdirSync(h.mirrorPath('.staging', '.trash')).length > 0,
    );
  } finally {
    await h.close();
  }
});

test('a refresh aborted while deriving publishes nothing; the next one publishes release and files', async () => {
  const h = await createHarness();
  try {
    await release(h, '100.0.0');
    const c = h.config(ON);
    const abort = new AbortController();
    const staging = h.mirrorPath('.staging', 'stable', 'amd64-usr', '100.0.0', PARTIAL_DIR);
    const timer = setInterval(() => existsSync(staging) && abort.abort(new Error('stopped')), 5);
    await refreshMirror({
      dataDir: c.dataDir,
      mirror: c.mirror,
      log: silentLogger(),
      signal: abort.signal,
    }).catch(() => undefined);
    clearInterval(timer);
    assert.ok(abort.signal.aborted);
    assert.not.ok(existsSync(h.mirrorPath('stable', 'amd64-usr', '100.0.0')), 'not published');
    const r = await h.refresh({}, ON);
    assert.is(r.versions[0]?.steps?.['image']?.status, 'new');
    assert.ok((await checkDerived(h.mirrorPath('stable', 'amd64-usr', '100.0.0'), true)).ok);
  } finally {
    await h.close();
  }
});

test.run();
