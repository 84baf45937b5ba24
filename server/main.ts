// Composition root: config → stores, caches, renderer → HTTP (+ TFTP) listeners and jobs.
// The only module that sees every layer.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileRoot, segmentsFromTftpName } from './assets/file-root.ts';
import { openUnderRoot, SmallFileCache } from './assets/open-file.ts';
import { type AdminCredential, adminCredential } from './auth/admin-credential.ts';
import type { SignInLinks } from './auth/sign-in-links.ts';
import { DownloadRecorder } from './boot/downloads.ts';
import { BootService } from './boot/service.ts';
import { MachineRegistry } from './catalog/registry.ts';
import { type Config, parseListen } from './config.ts';
import { ConfigError, errorMessage, StartupError } from './errors.ts';
import { createApp } from './http/app.ts';
import { HostAllowList } from './http/host-check.ts';
import { listenHttp } from './http/listener.ts';
import { opsHooks } from './http/ops-hooks.ts';
import { createAccess } from './http/ui-auth.ts';
import { InstallerCache } from './installer/cache.ts';
import { AttemptCredentials } from './installer/credentials.ts';
import { handoffScriptTemplate } from './installer/handoff-script.ts';
import { installScriptTemplate } from './installer/script.ts';
import { Lifecycle } from './lifecycle.ts';
import type { Logger } from './log.ts';
import { observeHandoffs, observeProvisioning, registerMachineGauge } from './metrics/machine-metrics.ts';
import { createMetrics, type RailyardMetrics, recordMirrorRefresh } from './metrics/metrics.ts';
import { registerMirrorGauges } from './metrics/mirror-metrics.ts';
import { registerPoolMetrics } from './metrics/pool-metrics.ts';
import { startMirrorJob } from './mirror/auto-refresh.ts';
import { MirrorCatalog } from './mirror/catalog.ts';
import { readyDerived } from './mirror/derived.ts';
import { SignatureVerifier } from './mirror/verify.ts';
import { countMembers } from './pool/listing.ts';
import { ClaimPoller } from './pool/long-poll.ts';
import { PoolService } from './pool/service.ts';
import { checkPublicUrl } from './public-url.ts';
import { IpxeRenderer } from './render/ipxe.ts';
import { LastKnownMachines } from './store/last-known.ts';
import { observeStore } from './store/observed.ts';
import { openStateStore } from './store/open.ts';
import { versionsInstalling } from './store/queries.ts';
import type { TftpObserver } from './tftp/server.ts';
import { type TftpSource, withGeneratedFiles } from './tftp/source.ts';
import { startTftp } from './tftp/start.ts';
import { Dashboard } from './ui/dashboard.ts';
import { ImageProgress } from './ui/progress.ts';
import { UiTemplates } from './ui/templates.ts';
import { wireUpdates } from './updates/wire.ts';

export interface RunningServer {
  lifecycle: Lifecycle;
  httpUrl: string;
}

/**
 * Fail-stop: when any step fails (a port in use, TFTP, the state database, the mirror
 * job's keyring), everything already started is stopped again before the error goes up,
 * so the CLI can exit with one message instead of a half-started server.
 */
export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const lifecycle = new Lifecycle(log);
  try {
    return await start(config, log, lifecycle);
  } catch (err) {
    await lifecycle.stop(`startup failed: ${errorMessage(err)}`, 0, true);
    throw err;
  }
}

async function start(config: Config, log: Logger, lifecycle: Lifecycle): Promise<RunningServer> {
  checkPublicUrl(config.publicUrl);
  const metrics = createMetrics();
  const stateLog = log.child({ sub: 'state' });
  const rawStore = await openStateStore(config.state);
  lifecycle.addFinal({ name: 'state', stop: () => rawStore.close() });
  registerMachineGauge(metrics, rawStore);
  // Shared store (PostgreSQL): what this instance recorded, for disk boots while it is unreachable.
  const lastKnown = rawStore.changes && new LastKnownMachines(rawStore.changes);
  // Every recorded event: one log line with the MAC, then the provisioning histograms.
  const updates = await wireUpdates(config, metrics, log.child({ sub: 'updates' }));
  lifecycle.add({ name: 'updates', stop: () => updates.store.close() });
  // The pool fills from `pooled` reports; the store it records through is the observed one.
  let pool: PoolService | undefined;
  const store = observeStore(rawStore, stateLog, [
    observeProvisioning(metrics, rawStore, stateLog),
    observeHandoffs(metrics),
    updates.onRecorded,
    (recorded) => pool?.onRecorded(recorded),
    ...(lastKnown ? [lastKnown.listener] : []),
  ]);
  const machines = new MachineRegistry(config.machinesDir, log.child({ sub: 'machines' }));
  machines.watch();
  lifecycle.add(machines);
  const catalog = new MirrorCatalog(join(config.dataDir, 'mirror'));
  pool = new PoolService({
    store,
    machines: () => machines.current,
    releases: catalog,
    settings: config.pool,
    log: log.child({ sub: 'pool' }),
    onFirstBoot: registerPoolMetrics(metrics, async () => countMembers(await rawStore.pool.list())),
  });
  pool.start();
  lifecycle.add(pool);
  // Shared store: another instance's claim (its pool-claimed event) wakes this one's long-polls at once.
  rawStore.changes?.subscribe((change) => {
    if (change) pool?.waiters.notify(change.mac);
  });
  const updateService = updates.service(() => machines.current, store);
  installScriptTemplate(); // fail at startup, not at the first install, if a template is broken
  handoffScriptTemplate();
  const credentials = await AttemptCredentials.load(rawStore, config.dataDir);
  const mirrorDir = join(config.dataDir, 'mirror');
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
  });
  const downloads = new DownloadRecorder(store, stateLog);
  const progress = new ImageProgress();
  const dashboard = new Dashboard({
    store,
    boot,
    mirror: catalog,
    progress,
    staleAfterMs: config.mirror.staleAfter,
    updates: updateService.dashboard,
  });
  const poller = new ClaimPoller({ pool, credentials, publicUrl: config.publicUrl });
  rawStore.changes?.subscribe(() => dashboard.invalidate());
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
        readyDerived(catalog.layout.versionDir(channel, board, version)),
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
    mirrorRoot: new FileRoot(mirrorDir),
    assetsRoot: new FileRoot(join(config.dataDir, 'assets')),
    ...opsHooks({ downloads, metrics, progress }),
    metrics,
    ui: { dashboard, templates: new UiTemplates() },
    ...(rawStore.ping ? { health: () => rawStore.ping?.() ?? Promise.resolve() } : {}),
    updates: updateService.http,
    pool: { service: pool, poller },
  });
  const http = await listenHttp(
    app,
    parseListen(config.http.listen),
    config.http,
    log.child({ sub: 'http' }),
  );
  lifecycle.add(http);
  const httpUrl = `http://${formatHost(http.address.address)}:${http.address.port}`;
  log.info(
    { listener: 'http', address: httpUrl, publicUrl: config.publicUrl, config: config.source },
    `HTTP listening on ${httpUrl}`,
  );
  // publicUrl derived from `http.listen: …:0` names port 0: the listener's address is the one to open.
  const dashboardBase = new URL(config.publicUrl).port === '0' ? httpUrl : config.publicUrl;
  if (admin.file) announceSignIn(log, dashboardBase, admin, access.links);
  if (config.tftp.enabled) {
    const tftpLog = log.child({ sub: 'tftp' });
    lifecycle.add(await startTftp(config.tftp, tftpSource(config), tftpLog, tftpMetrics(metrics)));
  }
  // Background mirror refresh (mirror.autoRefresh); retention keeps what machines are installing.
  // Its keyring and directory are checked now: a job that can never succeed stops startup.
  if (config.mirror.autoRefresh) await checkMirrorJob(config.mirror, mirrorDir);
  const mirrorJob = startMirrorJob(
    config,
    log.child({ sub: 'mirror' }),
    updates.keepInUse(versionsInstalling(store)),
    (outcome) => recordMirrorRefresh(metrics, outcome),
  );
  if (mirrorJob) lifecycle.add(mirrorJob);
  return { lifecycle, httpUrl };
}

const SIGN_IN_LINK_TTL_MS = 3_600_000;

/** No admin.token configured: log a one-time sign-in link (never the token itself). */
function announceSignIn(log: Logger, publicUrl: string, admin: AdminCredential, links: SignInLinks): void {
  const link = `${publicUrl}/ui/login?link=${links.create(SIGN_IN_LINK_TTL_MS)}`;
  log.info(
    { file: admin.file, generated: admin.created },
    `Dashboard sign-in: open ${link} once within 1 h (a one-time link; any name railyard is reached by works). ` +
      `No admin.token is configured: the admin token ${admin.created ? 'was generated into' : 'is in'} ${admin.file}.`,
  );
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

async function checkMirrorJob(mirror: Config['mirror'], mirrorDir: string): Promise<void> {
  await SignatureVerifier.load(mirror.keyring, mirror.fingerprint);
  try {
    mkdirSync(mirrorDir, { recursive: true });
  } catch (err) {
    throw new StartupError(`dataDir: cannot create the mirror directory ${mirrorDir}: ${errorMessage(err)}`, {
      key: 'dataDir',
      cause: err,
    });
  }
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

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
