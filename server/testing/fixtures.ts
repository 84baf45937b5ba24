// Shared test helpers: temp directories, a published stand-in mirror release, an app
// built by main.ts's buildServices with fakes (a memory store, a fixed credential key, the
// machines as loaded now). Test-only: never imported by production code.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BootService } from '../boot/service.ts';
import { loadMachines } from '../catalog/load.ts';
import { type Config, loadConfig, PACKAGE_ROOT } from '../config.ts';
import type { createApp, HttpDeps } from '../http/app.ts';
import { type Access, SESSION_COOKIE } from '../http/ui-auth.ts';
import { AttemptCredentials } from '../installer/credentials.ts';
import { type Logger, silentLogger } from '../log.ts';
import { canonicalMac } from '../machines/identity.ts';
import { buildServices } from '../main.ts';
import type { RailyardMetrics } from '../metrics/metrics.ts';
import { memoryStore } from '../store/fakes.ts';
import type { StateStore } from '../store/state-store.ts';
import type { DashboardDeps } from '../ui/dashboard.ts';
import type { ImageProgress } from '../ui/progress.ts';

export const EXAMPLES_DIR = join(PACKAGE_ROOT, 'examples');

export function tempDir(prefix = 'railyard-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Publish a tiny release under <mirrorDir>/<channel>/<board>/<version> and point `current` at it. */
export function publishRelease(
  mirrorDir: string,
  channel = 'stable',
  board = 'amd64-usr',
  version = '9999.0.0',
): string {
  const dir = join(mirrorDir, channel, board, version);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'version.txt'), `FLATCAR_VERSION=${version}\n`);
  writeFileSync(join(dir, 'flatcar_production_pxe.vmlinuz'), Buffer.alloc(4096, 1));
  writeFileSync(join(dir, 'flatcar_production_pxe_image.cpio.gz'), Buffer.alloc(8192, 2));
  const current = join(mirrorDir, channel, board, 'current');
  rmSync(current, { force: true });
  symlinkSync(version, current);
  return dir;
}

/** The admin token of every testApp() that does not set its own. */
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface TestApp {
  app: ReturnType<typeof createApp>;
  access: Access;
  /** `Authorization: Bearer <admin token>`, for API reads and writes. */
  adminHeaders: Record<string, string>;
  /** A `Cookie` header with a fresh dashboard session. */
  sessionHeaders(): Promise<Record<string, string>>;
  store: StateStore;
  credentials: AttemptCredentials;
  /** The install token of the machine's open attempt (what its installer carries). */
  installToken: (mac: string) => Promise<string>;
  /** The first-boot token of the machine's open attempt. */
  firstBootToken: (mac: string) => Promise<string>;
  dataDir: string;
  boot: BootService;
  /** Load machinesDir again (as a file change or SIGHUP would). */
  reloadMachines: () => void;
  metrics: RailyardMetrics;
  progress: ImageProgress;
  cleanup: () => void;
}

export interface TestAppOptions {
  machinesDir?: string;
  publicUrl?: string;
  mirrored?: boolean;
  store?: StateStore;
  adminToken?: string;
  keyring?: string;
  /** installer.kexecDeny (default none). */
  kexecDeny?: readonly Record<string, string>[];
  /** installer.bindClientIp (default true). */
  bindClientIp?: boolean;
  /** Node process metrics on /metrics (off by default in tests). */
  processMetrics?: boolean;
  /** mirror.staleAfter for the dashboard (default 2 days). */
  staleAfterMs?: number;
  now?: () => number;
  /** The app's logger (default: silent). */
  log?: Logger;
  /** ui.public (default false: reads need a sign-in). */
  publicRead?: boolean;
  sessionTtlMs?: number;
  /** http.allowedHosts, besides publicUrl's host. */
  allowedHosts?: string[];
  /** How long the dashboard reuses a fleet page (default: its own, 1 s); set: no pacing either. */
  dashboardCacheMs?: number;
  /** The update service's routes (/v1/update/, /api/v1/updates…) and dashboard section. */
  updates?: HttpDeps['updates'] & { dashboard?: DashboardDeps['updates'] };
}

export async function testApp(options: TestAppOptions = {}): Promise<TestApp> {
  const { dir, cleanup } = tempDir();
  const mirrorDir = join(dir, 'mirror');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  mkdirSync(mirrorDir, { recursive: true });
  if (options.mirrored !== false) publishRelease(mirrorDir);
  const machinesDir = options.machinesDir ?? EXAMPLES_DIR;
  let machines = loadMachines(machinesDir);
  const publicUrl = options.publicUrl ?? 'http://192.0.2.10:8080';
  const keyringFile = join(dir, 'installer-keyring.asc');
  if (options.keyring !== undefined) writeFileSync(keyringFile, options.keyring);
  const adminToken = options.adminToken ?? TEST_ADMIN_TOKEN;
  const config = testConfig(dir, {
    publicUrl,
    machinesDir,
    adminToken,
    ...(options.keyring === undefined ? {} : { keyringFile }),
    options,
  });
  const services = await buildServices(config, options.log ?? silentLogger(), {
    store: options.store ?? memoryStore(),
    credentials: new AttemptCredentials(Buffer.alloc(32, 7)),
    machines: {
      get current() {
        return machines;
      },
    },
    processMetrics: options.processMetrics ?? false,
    updates: options.updates ? { http: options.updates, dashboard: options.updates.dashboard } : null,
    ...(options.now ? { now: options.now } : {}),
    ...(options.dashboardCacheMs === undefined
      ? {}
      : { dashboard: { cacheMs: options.dashboardCacheMs, busyShare: 1 } }),
  });
  const { store, credentials, access } = services;
  const tokenOf = async (mac: string) => {
    const open = await store.openAttemptOf(canonicalMac(mac));
    if (!open) throw new Error(`test: ${mac} has no open attempt`);
    return credentials.tokens(open.secrets.nonce);
  };
  return {
    app: services.app,
    access,
    adminHeaders: { authorization: `Bearer ${adminToken}` },
    sessionHeaders: async () => ({ cookie: `${SESSION_COOKIE}=${await access.sessions.issue()}` }),
    dataDir: dir,
    cleanup: () => {
      void services.lifecycle.stop('test done', 0, true);
      cleanup();
    },
    store,
    credentials,
    installToken: async (mac) => (await tokenOf(mac)).install,
    firstBootToken: async (mac) => (await tokenOf(mac)).firstBoot,
    boot: services.boot,
    reloadMachines: () => {
      machines = loadMachines(machinesDir);
    },
    metrics: services.metrics,
    progress: services.progress,
  };
}

/** A Config as `loadConfig` resolves it (no file, no environment), with the test app's settings. */
function testConfig(
  dataDir: string,
  o: {
    publicUrl: string;
    machinesDir: string;
    adminToken: string;
    keyringFile?: string;
    options: TestAppOptions;
  },
): Config {
  const base = loadConfig({
    env: {},
    cwd: dataDir,
    overrides: { dataDir, publicUrl: o.publicUrl, machinesDir: o.machinesDir, 'tftp.enabled': false },
  });
  const { options } = o;
  return {
    ...base,
    // testApp's Host check: publicUrl's host and allowedHosts (not the listen address's).
    http: {
      ...base.http,
      listen: `${new URL(o.publicUrl).hostname}:0`,
      allowedHosts: options.allowedHosts ?? [],
    },
    admin: { token: o.adminToken },
    ui: { public: options.publicRead ?? false, sessionTtl: options.sessionTtlMs ?? 12 * 3_600_000 },
    installer: {
      ...base.installer,
      cacheEntries: 10,
      failedRetries: 2,
      bindClientIp: options.bindClientIp ?? true,
      kexecDeny: [...(options.kexecDeny ?? [])],
    },
    mirror: {
      ...base.mirror,
      autoRefresh: false,
      staleAfter: options.staleAfterMs ?? 2 * 86_400_000,
      ...(o.keyringFile ? { keyring: o.keyringFile, stockKeyring: false } : {}),
    },
  };
}
