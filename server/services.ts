// The composition root's construction half (only main.ts imports it): config → the whole
// service graph, the Hono app, the TFTP source and the background jobs, none started and
// nothing listening. Tests build the same graph with fakes through `overrides`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileRoot, segmentsFromTftpName } from './assets/file-root.ts';
import { openUnderRoot, SmallFileCache } from './assets/open-file.ts';
import { type AdminCredential, adminCredential } from './auth/admin-credential.ts';
import { DownloadRecorder } from './boot/downloads.ts';
import { BootService } from './boot/service.ts';
import { MachineRegistry } from './catalog/registry.ts';
import { type Config, parseListen } from './config.ts';
import { ConfigError, errorMessage } from './errors.ts';
import { createApp, type HttpDeps } from './http/app.ts';
import { HostAllowList } from './http/host-check.ts';
import { opsHooks } from './http/ops-hooks.ts';
import { type Access, createAccess } from './http/ui-auth.ts';
import { InstallerCache } from './installer/cache.ts';
import { AttemptCredentials } from './installer/credentials.ts';
import { handoffScriptTemplate } from './installer/handoff-script.ts';
import { installScriptTemplate } from './installer/script.ts';
import { type Job, Lifecycle } from './lifecycle.ts';
import type { Logger } from './log.ts';
import type { MachineSet } from './machines/model.ts';
import { observeHandoffs, observeProvisioning, registerMachineGauge } from './metrics/machine-metrics.ts';
import { createMetrics, type RailyardMetrics, recordMirrorRefresh } from './metrics/metrics.ts';
import { registerMirrorGauges } from './metrics/mirror-metrics.ts';
import { registerPoolMetrics } from './metrics/pool-metrics.ts';
import { startMirrorJob } from './mirror/auto-refresh.ts';
import { MirrorCatalog } from './mirror/catalog.ts';
import { ReadyDerivedCache } from './mirror/ready-derived.ts';
import { countMembers } from './pool/listing.ts';
import { ClaimPoller } from './pool/long-poll.ts';
import { PoolService } from './pool/service.ts';
import { checkPublicUrl } from './public-url.ts';
import { IpxeRenderer } from './render/ipxe.ts';
import { LastKnownMachines } from './store/last-known.ts';
import { observeStore } from './store/observed.ts';
import { openStateStore } from './store/open.ts';
import { versionsInstalling } from './store/queries.ts';
import type { StateStore } from './store/state-store.ts';
import type { TftpObserver } from './tftp/server.ts';
import { type TftpSource, withGeneratedFiles } from './tftp/source.ts';
import { Dashboard, type DashboardDeps } from './ui/dashboard.ts';
import { ImageProgress } from './ui/progress.ts';
import { UiTemplates } from './ui/templates.ts';
import { wireUpdates } from './updates/wire.ts';

/** Parts a test replaces with fakes; each one given is used as is (and not closed by the lifecycle). */
export interface ServiceOverrides {
  /** The state store, instead of opening `config.state`. */
  store?: StateStore;
  /** The attempt credentials, instead of the store's or `<dataDir>/secret`'s key. */
  credentials?: AttemptCredentials;
  /** The machines source, instead of a MachineRegistry on `config.machinesDir` (no watch job). */
  machines?: { readonly current: MachineSet };
  /** The mirror catalog, instead of `<dataDir>/mirror`'s. */
  catalog?: MirrorCatalog;
  /** The clock of sessions, sign-in links, the dashboard, image progress and the pool. */
  now?: () => number;
  /** Node process metrics on /metrics (default on). */
  processMetrics?: boolean;
  /** The update service's routes and dashboard section instead of `config.state`'s; null: none. */
  updates?: { http?: HttpDeps['updates']; dashboard?: DashboardDeps['updates'] } | null;
  /** The dashboard's page reuse and pacing. */
  dashboard?: Pick<DashboardDeps, 'cacheMs' | 'busyShare'>;
  /** More background jobs, started after the built-in ones. */
  jobs?: readonly Job[];
}

export interface Services {
  /** Owns what was opened (the stores); startServer adds the listeners and jobs. */
  lifecycle: Lifecycle;
  app: ReturnType<typeof createApp>;
  store: StateStore;
  credentials: AttemptCredentials;
  catalog: MirrorCatalog;
  boot: BootService;
  pool: PoolService;
  access: Access;
  admin: AdminCredential;
  metrics: RailyardMetrics;
  progress: ImageProgress;
  /** What TFTP serves (undefined when tftp.enabled is false) and its metrics. */
  tftp: { source: TftpSource; observer: TftpObserver } | undefined;
  /** Not started: the machines watch, the pool sweep, the mirror refresh, `overrides.jobs`. */
  jobs: Job[];
}

/**
 * Build the graph; opens the state and update stores, listens on nothing, starts nothing.
 * A failed step closes what it opened before the error goes up.
 */
export async function buildServices(
  config: Config,
  log: Logger,
  overrides: ServiceOverrides = {},
): Promise<Services> {
  const lifecycle = new Lifecycle(log, { drainMs: config.http.drainTimeout });
  try {
    return await build(config, log, overrides, lifecycle);
  } catch (err) {
    await lifecycle.stop(`startup failed: ${errorMessage(err)}`, 0, true);
    throw err;
  }
}

async function build(
  config: Config,
  log: Logger,
  o: ServiceOverrides,
  lifecycle: Lifecycle,
): Promise<Services> {
  checkPublicUrl(config.publicUrl);
  const metrics = createMetrics({ processMetrics: o.processMetrics ?? true });
  const stateLog = log.child({ sub: 'state' });
  const rawStore = o.store ?? (await openStateStore(config.state));
  if (!o.store) lifecycle.addFinal({ name: 'state', stop: () => rawStore.close() });
  registerMachineGauge(metrics, rawStore);
  // Shared store (PostgreSQL): what this instance recorded, for disk boots while it is unreachable.
  const lastKnown = rawStore.changes && new LastKnownMachines(rawStore.changes);
  // Every recorded event: one log line with the MAC, then the provisioning histograms.
  const updates =
    o.updates === undefined ? await wireUpdates(config, metrics, log.child({ sub: 'updates' })) : undefined;
  if (updates) lifecycle.add({ name: 'updates', stop: () => updates.store.close() });
  // The pool fills from `pooled` reports; the store it records through is the observed one.
  let poolRef: PoolService | undefined;
  const store = observeStore(rawStore, stateLog, [
    observeProvisioning(metrics, rawStore, stateLog),
    observeHandoffs(metrics),
    ...(updates ? [updates.onRecorded] : []),
    (recorded) => poolRef?.onRecorded(recorded),
    ...(lastKnown ? [lastKnown.listener] : []),
  ]);
  const registry = o.machines
    ? undefined
    : new MachineRegistry(config.machinesDir, log.child({ sub: 'machines' }));
  const machines = o.machines ?? (registry as MachineRegistry);
  const catalog = o.catalog ?? new MirrorCatalog(join(config.dataDir, 'mirror'));
  const now = o.now;
  const pool = new PoolService({
    store,
    machines: () => machines.current,
    releases: catalog,
    settings: config.pool,
    log: log.child({ sub: 'pool' }),
    onFirstBoot: registerPoolMetrics(metrics, async () => countMembers(await rawStore.pool.list())),
    ...(now ? { clock: () => new Date(now()) } : {}),
  });
  poolRef = pool;
  // Shared store: another instance's claim (its pool-claimed event) wakes this one's long-polls at once.
  rawStore.changes?.subscribe((change) => {
    if (change) pool.waiters.notify(change.mac);
  });
  const updateParts = updates?.service(() => machines.current, store) ?? o.updates ?? {};
  installScriptTemplate(); // fail at startup, not at the first install, if a template is broken
  handoffScriptTemplate();
  const credentials = o.credentials ?? (await AttemptCredentials.load(rawStore, config.dataDir));
  registerMirrorGauges(metrics, async () => (await catalog.list()).status);
  const boot = new BootService({
    machines: () => machines.current,
    releases: catalog,
    renderer: new IpxeRenderer(),
    publicUrl: config.publicUrl,
    store,
    credentials,
    failedRetries: config.installer.failedRetries,
    bindClientIp: config.installer.bindClientIp,
    ...(lastKnown ? { lastKnown: (mac) => lastKnown.get(mac) } : {}),
  });
  const admin = adminCredential(config.admin.token, config.dataDir);
  const access = createAccess({
    sessions: rawStore.sessions,
    adminToken: admin.token,
    sessionTtlMs: config.ui.sessionTtl,
    publicRead: config.ui.public,
    hosts: HostAllowList.fromConfig(
      config.publicUrl,
      parseListen(config.http.listen).host,
      config.http.allowedHosts,
    ),
    ...(now ? { now } : {}),
  });
  const downloads = new DownloadRecorder(store, stateLog);
  const progress = new ImageProgress(now);
  const dashboard = new Dashboard({
    store,
    boot,
    mirror: catalog,
    progress,
    staleAfterMs: config.mirror.staleAfter,
    ...o.dashboard,
    ...(now ? { now } : {}),
    ...(updateParts.dashboard ? { updates: updateParts.dashboard } : {}),
  });
  const poller = new ClaimPoller({
    pool,
    credentials,
    publicUrl: config.publicUrl,
    signal: lifecycle.signal,
  });
  rawStore.changes?.subscribe(() => dashboard.invalidate());
  const readyDerived = new ReadyDerivedCache();
  const app = createApp({
    log: log.child({ sub: 'http' }),
    boot,
    installer: {
      cache: new InstallerCache({
        maxEntries: config.installer.cacheEntries,
        logger: log.child({ sub: 'installer' }),
      }),
      credentials,
      publicUrl: config.publicUrl,
      keyring: config.mirror.stockKeyring ? undefined : readKeyring(config.mirror.keyring),
      kexecDeny: config.installer.kexecDeny,
      onServed: (mac, bytes, durationMs, attemptId) =>
        downloads.recordInstaller(mac, attemptId, bytes, durationMs),
      derivedImage: (channel, board, version) =>
        readyDerived.get(catalog.layout.versionDir(channel, board, version)),
    },
    api: {
      store,
      attempts: boot.attempts,
      credentials,
      publicUrl: config.publicUrl,
      mirror: catalog,
      claimTarget: async (attempt) => {
        const member = await rawStore.pool.get(attempt.mac);
        return member && (await poller.claimPayload(member, attempt))?.config;
      },
    },
    access,
    mirrorRoot: new FileRoot(join(config.dataDir, 'mirror')),
    assetsRoot: new FileRoot(join(config.dataDir, 'assets')),
    ...opsHooks({ downloads, metrics, progress }),
    metrics,
    ui: { dashboard, templates: new UiTemplates() },
    ...(rawStore.ping ? { health: () => rawStore.ping?.() ?? Promise.resolve() } : {}),
    ...(updateParts.http ? { updates: updateParts.http } : {}),
    pool: { service: pool, poller },
  });
  const jobs: Job[] = [
    ...(registry ? [{ name: 'machines', start: () => watching(registry) }] : []),
    {
      name: 'pool',
      start: (signal: AbortSignal) => {
        pool.start(signal);
        return pool;
      },
    },
    {
      name: 'mirror-refresh',
      // Retention keeps what machines are installing (and updating to).
      start: (signal, crash) =>
        startMirrorJob(
          config,
          log.child({ sub: 'mirror' }),
          updates ? updates.keepInUse(versionsInstalling(store)) : versionsInstalling(store),
          (outcome) => recordMirrorRefresh(metrics, outcome),
          { signal, onCrash: crash },
        ),
    },
    ...(o.jobs ?? []),
  ];
  const tftp = config.tftp.enabled
    ? { source: tftpSource(config), observer: tftpMetrics(metrics) }
    : undefined;
  return {
    lifecycle,
    app,
    store,
    credentials,
    catalog,
    boot,
    pool,
    access,
    admin,
    metrics,
    progress,
    tftp,
    jobs,
  };
}

function watching(registry: MachineRegistry): MachineRegistry {
  registry.watch();
  return registry;
}

/** iPXE binaries from tftp.root, plus a generated script that chains to our HTTP side. */
function tftpSource(config: Config): TftpSource {
  const root = new FileRoot(config.tftp.root);
  const small = new SmallFileCache();
  const chain = `#!ipxe\nchain ${config.publicUrl}/boot.ipxe\n`;
  return withGeneratedFiles(
    { 'boot.ipxe': chain, 'autoexec.ipxe': chain },
    { open: (name) => openUnderRoot(root, segmentsFromTftpName(name), small) },
  );
}

function tftpMetrics(metrics: RailyardMetrics): TftpObserver {
  return {
    transferEnded: (result) => {
      metrics.tftpTransfers.inc({ result: result.outcome });
      metrics.tftpBytes.inc(result.bytes);
    },
    errorSent: (code) => metrics.tftpErrors.inc({ code: String(code) }),
  };
}

function readKeyring(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`mirror.keyring: cannot read ${file}: ${errorMessage(err)}`, {
      file,
      key: 'mirror.keyring',
    });
  }
}
