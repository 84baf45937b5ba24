// Per-machine installer cpio (`/installer/<mac>.cpio.gz`), built once per input and kept in
// an LRU cache. Concurrent requests for the same key share one build (the cache holds the
// promise); a failed build is not cached. Building, gzip included, is sub-millisecond CPU,
// so it never holds up other requests for long.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../log.ts';
import type { Profile } from '../machines/model.ts';
import { buildGzipCpio } from './cpio.ts';
import { handoffScriptTemplate } from './handoff-script.ts';
import { buildInstallerIgnition, type InstallerInput } from './ignition.ts';
import { installScriptTemplate, writeImageTemplate } from './script.ts';

/** Where the PXE initramfs picks up an embedded Ignition config (FLATCAR.md). */
export const CONFIG_PATH = 'usr/share/oem/config.ign';

export interface InstallerArtifact {
  /** gzip'd newc cpio holding usr/share/oem/config.ign. */
  body: Buffer<ArrayBuffer>;
  /** Strong ETag (quoted), from the content hash. */
  etag: string;
}

export type InstallerRequest = InstallerInput & {
  profile: InstallerInput['profile'] & Pick<Profile, 'revision'>;
};

export async function buildInstallerCpio(input: InstallerInput): Promise<Buffer<ArrayBuffer>> {
  const config = buildInstallerIgnition(input);
  return buildGzipCpio([{ path: CONFIG_PATH, data: `${JSON.stringify(config)}\n`, mode: 0o644 }]);
}

export class InstallerCache {
  readonly #cache: LRUCache<string, Promise<InstallerArtifact>>;
  readonly #log: Logger | undefined;

  constructor(options: { maxEntries: number; logger?: Logger }) {
    this.#cache = new LRUCache({ max: options.maxEntries });
    this.#log = options.logger;
  }

  /** The artifact for this machine and inputs; built on first use. */
  get(input: InstallerRequest): Promise<InstallerArtifact> {
    const key = cacheKey(input);
    const hit = this.#cache.get(key);
    if (hit) return hit;
    const pending = this.#build(input).catch((err: unknown) => {
      if (this.#cache.get(key) === pending) this.#cache.delete(key);
      throw err;
    });
    this.#cache.set(key, pending);
    return pending;
  }

  get size(): number {
    return this.#cache.size;
  }

  async #build(input: InstallerRequest): Promise<InstallerArtifact> {
    const t0 = performance.now();
    const body = await buildInstallerCpio(input);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
    this.#log?.debug(
      { mac: input.view.mac, bytes: body.length, ms: Number((performance.now() - t0).toFixed(2)) },
      'installer cpio built',
    );
    return { body, etag };
  }
}

/**
 * (mac, attempt, profile revision, install and hand-off script template revisions, resolved
 * version, keyring hash), plus a hash of the rest of the inputs (view, report URL, tokens,
 * hand-off plan), so a changed fact, group metadata or kexecDeny entry can never serve a
 * stale installer.
 */
export function cacheKey(input: InstallerRequest): string {
  const template = input.scriptTemplate ?? installScriptTemplate();
  const handoffTemplate = input.handoffTemplate ?? handoffScriptTemplate();
  const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
  const rest = hash(
    JSON.stringify([
      input.view,
      input.reportUrl,
      input.token,
      input.firstBootToken,
      input.profile.installDisk,
      input.profile.phoneHome,
      input.handoff,
      input.image ?? null,
      input.pool ?? null,
    ]),
  );
  const keyring = input.keyring === undefined ? 'stock' : hash(input.keyring);
  return [
    input.view.mac,
    input.attemptId,
    input.profile.revision,
    `${template.revision}+${handoffTemplate.revision}+${writeImageTemplate().revision}`,
    input.version,
    keyring,
    rest,
  ].join('|');
}
