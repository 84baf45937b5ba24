// Test-only: an update payload tree like https://update.release.flatcar-linux.net/<board>/
// (`<root>/update/<board>/<version>/flatcar_production_update.gz` + `.sha256`, extension
// payloads beside it) for the fake upstream to serve.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestsFor } from './fake-upstream.ts';

export interface FakePayloadOptions {
  board?: string;
  size?: number;
  extensions?: string[];
  /** Publish `F.sha256` (default), or not, or a wrong one. */
  sha256?: 'right' | 'none' | 'wrong';
  /** Publish `F.DIGESTS` too. */
  digests?: boolean;
}

/** Writes the tree; returns the payload bytes by file name. */
export function buildUpdatePayloads(
  root: string,
  version: string,
  o: FakePayloadOptions = {},
): Map<string, Buffer> {
  const dir = join(root, 'update', o.board ?? 'amd64-usr', version);
  mkdirSync(dir, { recursive: true });
  const files = new Map<string, Buffer>();
  for (const name of ['flatcar_production_update.gz', ...(o.extensions ?? [])]) {
    const data = Buffer.concat([Buffer.from('CrAU'), randomBytes(o.size ?? 100_000)]);
    files.set(name, data);
    writeFileSync(join(dir, name), data);
    const hex = createHash('sha256')
      .update(o.sha256 === 'wrong' ? Buffer.from('other') : data)
      .digest('hex');
    if (o.sha256 !== 'none') writeFileSync(join(dir, `${name}.sha256`), `${hex}  ${name}\n`);
    else rmSync(join(dir, `${name}.sha256`), { force: true });
    if (o.digests) writeFileSync(join(dir, `${name}.DIGESTS`), digestsFor(name, data));
  }
  return files;
}

export const b64 = (alg: string, data: Buffer) => createHash(alg).update(data).digest('base64');
