// Download one version into its staging directory and verify every file: the detached
// `.sig` (required, except for version.txt), the SHA-512 in `.DIGESTS` and the clearsigned
// `.DIGESTS.asc` when upstream has them. Partial files from an earlier run are resumed;
// a group whose resumed bytes fail verification is discarded and fetched whole once.
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VerificationError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { COMPANIONS, MANIFEST, parseVersionTxt } from './layout.ts';
import type { ProgressSink } from './progress.ts';
import type { Upstream } from './upstream.ts';
import { parseSha512Digests, type SignatureVerifier, sha512File } from './verify.ts';

export interface StageContext {
  upstream: Upstream;
  verifier: SignatureVerifier;
  progress: ProgressSink;
  log: Logger;
}

export interface ManifestFile {
  name: string;
  size: number;
  sha512: string | undefined;
  signer: string | undefined;
}

export interface Manifest {
  version: string;
  source: string;
  verifiedAt: string;
  files: ManifestFile[];
}

interface GroupDownload {
  bytes: number;
  resumed: boolean;
  present: Set<string>;
}

/** Stage and verify every file of `version`; returns bytes received. Writes the manifest last. */
export async function stageVersion(
  ctx: StageContext,
  versionUrl: string,
  version: string,
  names: readonly string[],
  dir: string,
): Promise<number> {
  await mkdir(dir, { recursive: true });
  let bytes = 0;
  const files: ManifestFile[] = [];
  for (const name of names) {
    const group = await fetchGroup(ctx, versionUrl, dir, name, version);
    bytes += group.bytes;
    files.push(group.file);
  }
  const manifest: Manifest = { version, source: versionUrl, verifiedAt: new Date().toISOString(), files };
  await writeFile(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return bytes;
}

async function fetchGroup(ctx: StageContext, versionUrl: string, dir: string, name: string, version: string) {
  let bytes = 0;
  for (const pass of ['resume', 'whole'] as const) {
    if (pass === 'whole') await removeGroup(dir, name);
    const got = await downloadGroup(ctx, versionUrl, dir, name);
    bytes += got.bytes;
    try {
      return { bytes, file: await verifyGroup(ctx.verifier, dir, name, version, got.present) };
    } catch (err) {
      if (!(err instanceof VerificationError)) throw err;
      if (pass === 'resume' && got.resumed) {
        ctx.log.warn(
          { file: name, reason: err.message },
          'resumed file failed verification, fetching it whole',
        );
        continue;
      }
      await removeGroup(dir, name);
      throw err;
    }
  }
  throw new Error('unreachable');
}

async function downloadGroup(ctx: StageContext, versionUrl: string, dir: string, name: string) {
  const out: GroupDownload = { bytes: 0, resumed: false, present: new Set() };
  for (const member of [name, ...COMPANIONS.map((c) => name + c)]) {
    const dest = join(dir, member);
    const bar = ctx.progress.start(member);
    const r = await ctx.upstream.download(`${versionUrl}/${member}`, dest, member !== name, bar.update);
    bar.end(r);
    if (!r) {
      await rm(dest, { force: true });
      continue;
    }
    out.present.add(member);
    out.bytes += r.received;
    out.resumed ||= r.resumedFrom > 0;
  }
  return out;
}

async function verifyGroup(
  verifier: SignatureVerifier,
  dir: string,
  name: string,
  version: string,
  present: Set<string>,
): Promise<ManifestFile> {
  const file = join(dir, name);
  let signer: string | undefined;
  if (present.has(`${name}.sig`)) signer = (await verifier.verifyFile(file, `${file}.sig`)).signer;
  else if (name !== 'version.txt')
    throw new VerificationError(`${name}: no signature (${name}.sig is missing upstream)`);
  const lists: [string, string][] = [];
  if (present.has(`${name}.DIGESTS`))
    lists.push([`${name}.DIGESTS`, await readFile(`${file}.DIGESTS`, 'utf8')]);
  if (present.has(`${name}.DIGESTS.asc`)) {
    const asc = await readFile(`${file}.DIGESTS.asc`, 'utf8');
    lists.push([`${name}.DIGESTS.asc`, (await verifier.verifyClearsigned(`${name}.DIGESTS.asc`, asc)).text]);
  }
  // Every signed artifact's SHA-512 goes into the manifest: the replay check compares them.
  const sha512 = (await checkDigests(file, name, lists)) ?? (signer ? await sha512File(file) : undefined);
  if (name === 'version.txt') await checkVersionTxt(file, version);
  return { name, size: (await stat(file)).size, sha512, signer };
}

/** Check the SHA-512 each digest list (`F.DIGESTS`, signed `F.DIGESTS.asc`) gives for F, if any. */
async function checkDigests(
  file: string,
  name: string,
  lists: [string, string][],
): Promise<string | undefined> {
  let actual: string | undefined;
  for (const [label, text] of lists) {
    const expected = parseSha512Digests(text).get(name);
    if (!expected) continue;
    actual ??= await sha512File(file);
    if (actual !== expected) {
      throw new VerificationError(
        `${name}: SHA-512 ${actual.slice(0, 16)}… does not match ${label} (${expected.slice(0, 16)}…)`,
      );
    }
  }
  return actual;
}

async function checkVersionTxt(file: string, version: string): Promise<void> {
  const found = parseVersionTxt(await readFile(file, 'utf8'))['FLATCAR_VERSION'];
  if (found !== version) {
    throw new VerificationError(`version.txt: FLATCAR_VERSION is ${found ?? 'missing'}, expected ${version}`);
  }
}

async function removeGroup(dir: string, name: string): Promise<void> {
  for (const member of [name, ...COMPANIONS.map((c) => name + c)])
    await rm(join(dir, member), { force: true });
}
