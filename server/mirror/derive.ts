// Derive a version's fast-install files from its verified .bz2, in steps that survive a
// crash: (1) the streaming pass in the low-priority worker (→ .zst, block map, digests),
// recorded in `pass.json`; a rerun after a crash past this point starts at (2); (2) the input
// is checked against the SHA-512 from the signed DIGESTS, and the .zst is decompressed again
// and must give the same raw SHA-256 (round trip); (3) bmap, spans, SHA256SUMS, derived.json;
// (4) one rename of the hidden partial directory publishes them. Nothing is visible until (4).
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VerificationError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { renderBmap, renderSpans } from './bmap.ts';
import type { PassResult } from './derive-pass.ts';
import { fileSize, fsyncFile } from './derive-pass.ts';
import { runWorker, type WorkerOptions } from './derive-spawn.ts';
import {
  DERIVED_DIR,
  DERIVED_FILES,
  type DerivedManifest,
  PARTIAL_DIR,
  RAW_IMAGE,
  renderSums,
  SOURCE_IMAGE,
  sha256File,
} from './derived.ts';
import { MANIFEST } from './layout.ts';
import { removeDir, syncDir } from './publish.ts';

export interface DeriveSettings {
  level: number;
  long: number;
  threads: number;
}

export interface DeriveContext {
  settings: DeriveSettings;
  log: Logger;
  /** Where a replaced `railyard/` directory goes before it is deleted (same filesystem). */
  trashDir: string;
  worker?: WorkerOptions;
}

const PASS = 'pass.json';

/** Make and publish `<versionDir>/railyard/`; returns its manifest. Throws on any failure (nothing published). */
export async function deriveImage(ctx: DeriveContext, versionDir: string): Promise<DerivedManifest> {
  const t0 = performance.now();
  const partial = join(versionDir, PARTIAL_DIR);
  await mkdir(partial, { recursive: true });
  const zst = join(partial, DERIVED_FILES.zst);
  const mapped = join(partial, DERIVED_FILES.mapped);
  let cpu = 0;
  let pass = await resumablePass(partial, zst, mapped);
  if (pass) ctx.log.info({ dir: versionDir }, 'image derivation: resuming after the streaming pass');
  else {
    await clear(partial);
    const out = await runWorker(
      { kind: 'pass', bz2: join(versionDir, SOURCE_IMAGE), zst, mapped, ...ctx.settings },
      ctx.worker,
    );
    pass = out.result;
    cpu += out.cpuSeconds;
    await writeDurable(join(partial, PASS), JSON.stringify(pass));
  }
  try {
    await checkSource(versionDir, pass);
    const trip = await runWorker({ kind: 'roundtrip', files: [zst, mapped] }, ctx.worker);
    cpu += trip.cpuSeconds;
    const [image, spans] = trip.result.decoded;
    if (image?.sha256 !== pass.map.sha256 || image.size !== pass.map.imageSize)
      throw new VerificationError(`${DERIVED_FILES.zst}: decompresses to a different image than the .bz2`);
    if (spans?.sha256 !== pass.map.spansSha256)
      throw new VerificationError(
        `${DERIVED_FILES.mapped}: decompresses to other bytes than the image's spans`,
      );
  } catch (err) {
    if (err instanceof VerificationError) await clear(partial);
    throw err;
  }
  const cost = { seconds: since(t0), cpuSeconds: Math.round(cpu * 100) / 100 };
  const manifest = await writeFiles(ctx, partial, pass, cost);
  await rm(join(partial, PASS), { force: true });
  await publish(ctx, versionDir, partial);
  return manifest;
}

/** The recorded pass, when its .zst is complete on disk (a crash after step 1). */
async function resumablePass(partial: string, zst: string, mapped: string): Promise<PassResult | undefined> {
  try {
    const pass = JSON.parse(await readFile(join(partial, PASS), 'utf8')) as PassResult;
    const whole = (await fileSize(zst)) === pass.zst.size && (await fileSize(mapped)) === pass.mapped.size;
    return whole ? pass : undefined;
  } catch {
    return undefined;
  }
}

/** The bytes the pass decompressed must be the verified ones: SHA-512 from the signed DIGESTS. */
async function checkSource(versionDir: string, pass: PassResult): Promise<void> {
  let expected: string | undefined;
  try {
    const m = JSON.parse(await readFile(join(versionDir, MANIFEST), 'utf8')) as {
      files?: Array<{ name: string; sha512?: string }>;
    };
    expected = m.files?.find((f) => f.name === SOURCE_IMAGE)?.sha512;
  } catch {
    expected = undefined;
  }
  if (expected && expected !== pass.source.sha512)
    throw new VerificationError(
      `${SOURCE_IMAGE}: SHA-512 of the bytes decompressed differs from the verified one`,
    );
}

async function writeFiles(
  ctx: DeriveContext,
  partial: string,
  pass: PassResult,
  cost: { seconds: number; cpuSeconds: number },
): Promise<DerivedManifest> {
  const bmap = join(partial, DERIVED_FILES.bmap);
  const spans = join(partial, DERIVED_FILES.spans);
  await writeDurable(bmap, renderBmap(pass.map));
  await writeDurable(spans, renderSpans(pass.map.spans));
  const map = pass.map;
  const manifest: DerivedManifest = {
    format: 1,
    derivedAt: new Date().toISOString(),
    ...cost,
    source: { name: SOURCE_IMAGE, ...pass.source },
    image: {
      name: RAW_IMAGE,
      size: map.imageSize,
      sha256: map.sha256,
      blockSize: map.blockSize,
      mappedBlocks: map.mappedBlocks,
      ranges: map.ranges.length,
    },
    zst: { name: DERIVED_FILES.zst, ...pass.zst, level: ctx.settings.level, long: ctx.settings.long },
    mapped: { name: DERIVED_FILES.mapped, ...pass.mapped },
    bmap: { name: DERIVED_FILES.bmap, size: (await fileSize(bmap)) ?? 0, sha256: await sha256File(bmap) },
    spans: {
      name: DERIVED_FILES.spans,
      size: (await fileSize(spans)) ?? 0,
      sha256: await sha256File(spans),
      count: map.spans.length,
      bytes: map.spans.reduce((a, s) => a + s.length, 0),
      dataSha256: map.spansSha256,
    },
    decompressor: pass.decompressor,
  };
  await writeDurable(join(partial, DERIVED_FILES.sums), renderSums(manifest));
  await writeDurable(join(partial, DERIVED_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Replace `railyard/` by the finished partial directory: old one out of the served tree first. */
async function publish(ctx: DeriveContext, versionDir: string, partial: string): Promise<void> {
  await syncDir(partial);
  const final = join(versionDir, DERIVED_DIR);
  if ((await fileSize(final)) !== undefined) await removeDir(final, ctx.trashDir);
  await rename(partial, final);
  await syncDir(versionDir);
}

async function writeDurable(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await fsyncFile(`${path}.tmp`);
  await rename(`${path}.tmp`, path);
}

async function clear(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}

function since(t0: number): number {
  return Math.round((performance.now() - t0) / 10) / 100;
}
