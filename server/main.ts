// Composition root: config → stores, caches, renderer → HTTP (+ TFTP) listeners and jobs.
// The only module that sees every layer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileRoot, segmentsFromTftpName } from './assets/file-root.ts';
import { openUnderRoot, SmallFileCache } from './assets/open-file.ts';
import { DownloadRecorder } from './boot/downloads.ts';
import { BootService } from './boot/service.ts';
import { type Config, parseListen } from './config.ts';
import { ConfigError, errorMessage } from './errors.ts';
import { createApp } from './http/app.ts';
import { listenHttp } from './http/listener.ts';
import { opsHooks } from './http/ops-hooks.ts';
import { InstallerCache } from './installer/cache.ts';
import { handoffScriptTemplate } from './installer/handoff-script.ts';
import { installScriptTemplate } from './installer/script.ts';
import { MachineTokens } from './installer/tokens.ts';
import { Lifecycle } from './lifecycle.ts';
import type { Logger } from './log.ts';
import { MachineRegistry } from './machines/registry.ts';
import { observeHandoffs, observeProvisioning, registerMachineGauge } from './metrics/machine-metrics.ts';
import { createMetrics, type RailyardMetrics, recordMirrorRefresh } from './metrics/metrics.ts';
import { registerMirrorGauges } from './metrics/mirror-metrics.ts';
import { startMirrorJob } from './mirror/auto-refresh.ts';
import { MirrorCatalog } from './mirror/catalog.ts';
import { IpxeRenderer } from './render/ipxe.ts';
import { observeStore } from './store/observed.ts';
import { openStateStore } from './store/open.ts';
import { versionsInstalling } from './store/queries.ts';
import type { TftpObserver } from './tftp/server.ts';
import { type TftpSource, withGeneratedFiles } from './tftp/source.ts';
import { startTftp } from './tftp/start.ts';
import { Dashboard } from './ui/dashboard.ts';
import { ImageProgress } from './ui/progress.ts';
import { UiTemplates } from './ui/templates.ts';

export interface RunningServer {
  lifecycle: Lifecycle;
  httpUrl: string;
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const lifecycle = new Lifecycle(log);
  const metrics = createMetrics();
  const stateLog = log.child({ sub: 'state' });
  const rawStore = openStateStore(config.state);
  lifecycle.add({ name: 'state', stop: () => rawStore.close() });
  registerMachineGauge(metrics, rawStore);
  // Every recorded event: one log line with the MAC, then the provisioning histograms.
  const store = observeStore(rawStore, stateLog, [
    observeProvisioning(metrics, rawStore, stateLog),
    observeHandoffs(metrics),
  ]);
  const machines = new MachineRegistry(config.machinesDir, log.child({ sub: 'machines' }));
  machines.watch();
  lifecycle.add(machines);
  installScriptTemplate(); // fail at startup, not at the first install, if a template is broken
  handoffScriptTemplate();
  const tokens = MachineTokens.open(config.dataDir);
  const mirrorDir = join(config.dataDir, 'mirror');
  const catalog = new MirrorCatalog(mirrorDir);
  registerMirrorGauges(metrics, async () => (await catalog.list()).status);
  const boot = new BootService({
    machines: () => machines.current,
    releases: catalog,
    renderer: new IpxeRenderer(),
    publicUrl: config.publicUrl,
    store,
    failedRetries: config.installer.failedRetries,
  });
  const downloads = new DownloadRecorder(store, stateLog);
  const progress = new ImageProgress();
  const dashboard = new Dashboard({
    store,
    boot,
    mirror: catalog,
    progress,
    staleAfterMs: config.mirror.staleAfter,
  });
  const app = createApp({
    log: log.child({ sub: 'http' }),
    boot,
    installer: {
      cache: new InstallerCache({
        maxEntries: config.installer.cacheEntries,
        logger: log.child({ sub: 'installer' }),
      }),
      tokens,
      publicUrl: config.publicUrl,
      keyring: config.mirror.stockKeyring ? undefined : readKeyring(config.mirror.keyring),
      kexecDeny: config.installer.kexecDeny,
      onServed: (mac, bytes, durationMs) =>
        downloads.record(mac, { path: '/installer/', bytes, durationMs, complete: true, status: 200 }),
    },
    api: { store, tokens, adminToken: config.admin.token },
    mirrorRoot: new FileRoot(mirrorDir),
    assetsRoot: new FileRoot(join(config.dataDir, 'assets')),
    ...opsHooks({ downloads, metrics, progress }),
    metrics,
    ui: { dashboard, templates: new UiTemplates(), adminToken: config.admin.token },
  });
  const http = await listenHttp(app, parseListen(config.http.listen));
  lifecycle.add(http);
  const httpUrl = `http://${formatHost(http.address.address)}:${http.address.port}`;
  log.info(
    { listener: 'http', address: httpUrl, publicUrl: config.publicUrl, config: config.source },
    `HTTP listening on ${httpUrl}`,
  );
  if (config.tftp.enabled) {
    const tftpLog = log.child({ sub: 'tftp' });
    const tftp = await startTftp(config.tftp, tftpSource(config), tftpLog, tftpMetrics(metrics)).catch(
      async (err: unknown) => {
        await lifecycle.stop('TFTP failed to start', 0);
        throw err;
      },
    );
    lifecycle.add(tftp);
  }
  // Background mirror refresh (mirror.autoRefresh); retention keeps what machines are installing.
  const mirrorJob = startMirrorJob(
    config,
    log.child({ sub: 'mirror' }),
    versionsInstalling(store),
    (outcome) => recordMirrorRefresh(metrics, outcome),
  );
  if (mirrorJob) lifecycle.add(mirrorJob);
  return { lifecycle, httpUrl };
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

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
