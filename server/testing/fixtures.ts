// Shared test helpers: temp directories, a published stand-in mirror release, an app
// wired with real modules. Test-only: never imported by production code.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileRoot } from '../assets/file-root.ts';
import { DownloadRecorder } from '../boot/downloads.ts';
import { BootService } from '../boot/service.ts';
import { PACKAGE_ROOT } from '../config.ts';
import { createApp } from '../http/app.ts';
import { opsHooks } from '../http/ops-hooks.ts';
import { InstallerCache } from '../installer/cache.ts';
import { MachineTokens } from '../installer/tokens.ts';
import { silentLogger } from '../log.ts';
import { loadMachines } from '../machines/load.ts';
import { observeHandoffs, observeProvisioning, registerMachineGauge } from '../metrics/machine-metrics.ts';
import { createMetrics, type RailyardMetrics } from '../metrics/metrics.ts';
import { registerMirrorGauges } from '../metrics/mirror-metrics.ts';
import { MirrorCatalog } from '../mirror/catalog.ts';
import { IpxeRenderer } from '../render/ipxe.ts';
import { memoryStore } from '../store/fakes.ts';
import { observeStore } from '../store/observed.ts';
import type { StateStore } from '../store/state-store.ts';
import { Dashboard } from '../ui/dashboard.ts';
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

export interface TestApp {
  app: ReturnType<typeof createApp>;
  store: StateStore;
  tokens: MachineTokens;
  dataDir: string;
  boot: BootService;
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
  /** Node process metrics on /metrics (off by default in tests). */
  processMetrics?: boolean;
  /** mirror.staleAfter for the dashboard (default 2 days). */
  staleAfterMs?: number;
  now?: () => number;
}

export function testApp(options: TestAppOptions = {}): TestApp {
  const { dir, cleanup } = tempDir();
  const mirrorDir = join(dir, 'mirror');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  mkdirSync(mirrorDir, { recursive: true });
  if (options.mirrored !== false) publishRelease(mirrorDir);
  const machines = loadMachines(options.machinesDir ?? EXAMPLES_DIR);
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
  const boot = new BootService({
    machines: () => machines,
    releases: catalog,
    renderer: new IpxeRenderer(),
    publicUrl,
    store,
    failedRetries: 2,
  });
  const tokens = new MachineTokens(Buffer.alloc(32, 7));
  const downloads = new DownloadRecorder(store, silentLogger());
  const progress = new ImageProgress(options.now);
  const dashboard = new Dashboard({
    store,
    boot,
    mirror: catalog,
    progress,
    staleAfterMs: options.staleAfterMs ?? 2 * 86_400_000,
    ...(options.now ? { now: options.now } : {}),
  });
  const app = createApp({
    log: silentLogger(),
    boot,
    installer: {
      cache: new InstallerCache({ maxEntries: 10 }),
      tokens,
      publicUrl,
      keyring: options.keyring,
      kexecDeny: options.kexecDeny ?? [],
      onServed: (mac, bytes, durationMs) =>
        downloads.record(mac, { path: '/installer/', bytes, durationMs, complete: true, status: 200 }),
    },
    api: { store, tokens, adminToken: options.adminToken },
    ...opsHooks({ downloads, metrics, progress }),
    metrics,
    ui: { dashboard, templates: new UiTemplates(), adminToken: options.adminToken },
    mirrorRoot: new FileRoot(mirrorDir),
    assetsRoot: new FileRoot(join(dir, 'assets')),
  });
  return { app, dataDir: dir, cleanup, store, tokens, boot, metrics, progress };
}
