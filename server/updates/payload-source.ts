// The payloads the Omaha endpoint offers, read from the mirror: a policy's version spec
// through the mirror catalog (`current` links, pinned versions) and the manifest the refresh
// precomputed (size, base64 SHA-1/SHA-256) for `mirror/update/<board>/<version>/`.
import { join } from 'node:path';
import { MirrorCatalog } from '../mirror/catalog.ts';
import { PAYLOAD, readPayloadManifest } from '../mirror/update-payloads.ts';
import type { PayloadFile } from './omaha-response.ts';
import type { PayloadSource } from './service.ts';

export function mirrorPayloads(mirrorDir: string): PayloadSource {
  const catalog = new MirrorCatalog(mirrorDir);
  return {
    resolveVersion: (channel, board, spec) => catalog.resolveVersion(channel, board, spec),
    async offer(board, version) {
      const m = await readPayloadManifest(catalog.layout, board, version);
      const files: PayloadFile[] = (m?.files ?? []).map(({ name, size, sha1, sha256, sha256Hex }) => ({
        name,
        size,
        sha1,
        sha256,
        sha256Hex,
      }));
      const [payload, ...extensions] = files;
      if (!payload || payload.name !== PAYLOAD || payload.size <= 0) return undefined;
      return { version, payload, extensions };
    },
  };
}

export const mirrorDirOf = (dataDir: string) => join(dataDir, 'mirror');
