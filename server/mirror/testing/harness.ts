// Test-only harness: a temp data dir, a fake upstream with a test key, and a config that
// points the mirror at it (never at the real Flatcar servers).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, loadConfig } from '../../config.ts';
import { silentLogger } from '../../log.ts';
import { type RefreshOptions, refreshMirror } from '../refresh.ts';
import type { RefreshRecord } from '../status.ts';
import { FakeUpstream } from './fake-upstream.ts';
import { generateTestKey, type TestKey } from './keys.ts';

let shared: Promise<TestKey> | undefined;

/** One generated key per test process (generation is the slow part). */
export function sharedKey(): Promise<TestKey> {
  shared ??= generateTestKey();
  return shared;
}

export interface Harness {
  dir: string;
  dataDir: string;
  upstreamRoot: string;
  keyringPath: string;
  key: TestKey;
  upstream: FakeUpstream;
  config(mirror?: Record<string, unknown>, extra?: Record<string, unknown>): Config;
  refresh(options?: Partial<RefreshOptions>, mirror?: Record<string, unknown>): Promise<RefreshRecord>;
  mirrorPath(...parts: string[]): string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  key?: TestKey;
  dataDir?: string;
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'railyard-mirror-'));
  const key = options.key ?? (await sharedKey());
  const upstreamRoot = join(dir, 'upstream');
  const dataDir = options.dataDir ?? join(dir, 'data');
  const keyringPath = join(dir, 'keyring.asc');
  writeFileSync(keyringPath, key.armoredPublic);
  const upstream = await new FakeUpstream(upstreamRoot).start();
  const config = (mirror: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
    loadConfig({
      env: {},
      overrides: { ...testOverrides(dataDir, upstream.template, keyringPath, key, mirror), ...extra },
    });
  return {
    dir,
    dataDir,
    upstreamRoot,
    keyringPath,
    key,
    upstream,
    config,
    refresh: (o = {}, mirror = {}) => {
      const c = config(mirror);
      return refreshMirror({ dataDir: c.dataDir, mirror: c.mirror, log: silentLogger(), ...o });
    },
    mirrorPath: (...parts) => join(dataDir, 'mirror', ...parts),
    close: async () => {
      await upstream.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function testOverrides(
  dataDir: string,
  template: string,
  keyringPath: string,
  key: TestKey,
  mirror: Record<string, unknown>,
): Record<string, unknown> {
  const defaults: Record<string, unknown> = {
    upstream: template,
    keyring: keyringPath,
    fingerprint: key.fingerprint,
    autoRefresh: false,
    retries: 2,
    retryDelay: '10ms',
    timeout: '5s',
    // The fake's images are random bytes, not bzip2: derivation has its own tests (image-step.test.ts).
    deriveImages: false,
    releases: [{ channel: 'stable', board: 'amd64-usr', versions: ['current'], keep: 3 }],
  };
  const out: Record<string, unknown> = { dataDir };
  for (const [k, v] of Object.entries({ ...defaults, ...mirror })) out[`mirror.${k}`] = v;
  return out;
}
