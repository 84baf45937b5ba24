// Shared test helpers: temp directories, a published stand-in mirror release, an app
// wired with real modules. Test-only: never imported by production code.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRoot } from '../assets/file-root.ts';
import { DownloadRecorder } from '../boot/downloads.ts';
import { BootService } from '../boot/service.ts';
import { loadMachines } from '../catalog/load.ts';
import { PACKAGE_ROOT } from '../config.ts';
import { createApp, type HttpDeps } from '../http/app.ts';
import { HostAllowList } from '../http/host-check.ts';
import { opsHooks } from '../http/ops-hooks.ts';
import { type Access, createAccess, SESSION_COOKIE } from '../http/ui-auth.ts';
import { InstallerCache } from '../installer/cache.ts';
import { AttemptCredentials } from '../installer/credentials.ts';
import { type Logger, silentLogger } from '../log.ts';
import { canonicalMac } from '../machines/identity.ts';
import { observeHandoffs, observeProvisioning, registerMachineGauge } from '../metrics/machine-metrics.ts';
import { createMetrics, type RailyardMetrics } from '../metrics/metrics.ts';
import { registerMirrorGauges } from '../metrics/mirror-metrics.ts';
import { MirrorCatalog } from '../mirror/catalog.ts';
import { readyDerived } from '../mirror/derived.ts';
import { IpxeRenderer } from '../render/ipxe.ts';
import { memoryStore } from '../store/fakes.ts';
import { observeStore } from '../store/observed.ts';
import type { StateStore } from '../store/state-store.ts';
import { Dashboard, type DashboardDeps } from '../ui/dashboard.ts';
import { ImageProgress } from '../ui/progress.ts';
import { UiTemplates } from '../ui/templates.ts';

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

export function testApp(options: TestAppOptions = {}): TestApp {
  const { dir, cleanup } = tempDir();
  const mirrorDir = join(dir, 'mirror');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  mkdirSync(mirrorDir, { recursive: true });
  if (options.mirrored !== false) publishRelease(mirrorDir);
  const machinesDir = options.machinesDir ?? EXAMPLES_DIR;
  let machines = loadMachines(machinesDir);
  const metrics = createMetrics({ processMetrics: options.processMetrics ?? false });
  const rawStore = options.store ?? memoryStore();
  registerMachineGauge(metrics, rawStore);
  const store = observeStore(rawStore, silentLogger(), [
    observeProvisioning(metrics, rawStore, silentLogger()),
    observeHandoffs(metrics),
  ]);
  const publicUrl = options.publicUrl ?? 'http://192.0.2.10:8080';
  const catalog = new MirrorCatalog(mirrorDir);
  registerMirrorGauges(metrics, async () => (await catalog.list()).status);
  const credentials = new AttemptCredentials(Buffer.alloc(32, 7));
  const boot = new BootService({
    machines: () => machines,
    releases: catalog,
    renderer: new IpxeRenderer(),
    publicUrl,
    store,
    credentials,
    failedRetries: 2,
    bindClientIp: options.bindClientIp ?? true,
  });
  const downloads = new DownloadRecorder(store, silentLogger());
  const progress = new ImageProgress(options.now);
  const dashboard = new Dashboard({
    store,
    boot,
    mirror: catalog,
    progress,
    staleAfterMs: options.staleAfterMs ?? 2 * 86_400_000,
    ...(options.dashboardCacheMs === undefined ? {} : { cacheMs: options.dashboardCacheMs, busyShare: 1 }),
    ...(options.now ? { now: options.now } : {}),
    ...(options.updates?.dashboard ? { updates: options.updates.dashboard } : {}),
  });
  const adminToken = options.adminToken ?? TEST_ADMIN_TOKEN;
  const access = createAccess({
    sessions: store.sessions,
    adminToken,
    sessionTtlMs: options.sessionTtlMs ?? 12 * 3_600_000,
    publicRead: options.publicRead ?? false,
    hosts: new HostAllowList([new URL(publicUrl).hostname, ...(options.allowedHosts ?? [])]),
    ...(options.now ? { now: options.now } : {}),
  });
  const app = createApp({
    log: options.log ?? silentLogger(),
    boot,
    installer: {
      cache: new InstallerCache({ maxEntries: 10 }),
      credentials,
      publicUrl,
      keyring: options.keyring,
      kexecDeny: options.kexecDeny ?? [],
      onServed: (mac, bytes, durationMs, attemptId) =>
        downloads.recordInstaller(mac, attemptId, bytes, durationMs),
      derivedImage: (channel, board, version) =>
        readyDerived(catalog.layout.versionDir(channel, board, version)),
    },
    api: { store, attempts: boot.attempts, credentials, publicUrl, mirror: catalog },
    access,
    ...opsHooks({ downloads, metrics, progress }),
    metrics,
    ui: { dashboard, templates: new UiTemplates() },
    mirrorRoot: new FileRoot(mirrorDir),
    assetsRoot: new FileRoot(join(dir, 'assets')),
    ...(options.updates ? { updates: options.updates } : {}),
  });
  const tokenOf = async (mac: string) => {
    const open = await store.openAttemptOf(canonicalMac(mac));
    if (!open) throw new Error(`test: ${mac} has no open attempt`);
    return credentials.tokens(open.secrets.nonce);
  };
  return {
    app,
    access,
    adminHeaders: { authorization: `Bearer ${adminToken}` },
    sessionHeaders: async () => ({ cookie: `${SESSION_COOKIE}=${await access.sessions.issue()}` }),
    dataDir: dir,
    cleanup,
    store,
    credentials,
    installToken: async (mac) => (await tokenOf(mac)).install,
    firstBootToken: async (mac) => (await tokenOf(mac)).firstBoot,
    boot,
    reloadMachines: () => {
      machines = loadMachines(machinesDir);
    },
    metrics,
    progress,
  };
}
