// Composition root: config → stores, caches, renderer → HTTP (+ TFTP) listeners and jobs.
// The only module that sees every layer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileRoot, segmentsFromTftpName } from './assets/file-root.ts';
import { openUnderRoot } from './assets/open-file.ts';
import { MirrorReleaseResolver } from './assets/release-resolver.ts';
import { DownloadRecorder } from './boot/downloads.ts';
import { BootService } from './boot/service.ts';
import { type Config, parseListen } from './config.ts';
import { ConfigError, errorMessage } from './errors.ts';
import { createApp } from './http/app.ts';
import { listenHttp } from './http/listener.ts';
import { InstallerCache } from './installer/cache.ts';
import { installScriptTemplate } from './installer/script.ts';
import { MachineTokens } from './installer/tokens.ts';
import { Lifecycle } from './lifecycle.ts';
import type { Logger } from './log.ts';
import { MachineRegistry } from './machines/registry.ts';
import { startMirrorJob } from './mirror/auto-refresh.ts';
import { IpxeRenderer } from './render/ipxe.ts';
import { openStateStore } from './store/open.ts';
import { type TftpSource, withGeneratedFiles } from './tftp/source.ts';
import { startTftp } from './tftp/start.ts';

export interface RunningServer {
  lifecycle: Lifecycle;
  httpUrl: string;
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const lifecycle = new Lifecycle(log);
  const store = openStateStore(config.state);
  lifecycle.add({ name: 'state', stop: () => store.close() });
  const machines = new MachineRegistry(config.machinesDir, log.child({ sub: 'machines' }));
  machines.watch();
  lifecycle.add(machines);
  installScriptTemplate(); // fail at startup, not at the first install, if the template is broken
  const tokens = MachineTokens.open(config.dataDir);
  const mirrorDir = join(config.dataDir, 'mirror');
  const boot = new BootService({
    machines: () => machines.current,
    releases: new MirrorReleaseResolver(mirrorDir),
    renderer: new IpxeRenderer(),
    publicUrl: config.publicUrl,
    store,
    failedRetries: config.installer.failedRetries,
  });
  const downloads = new DownloadRecorder(store, log.child({ sub: 'state' }));
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
      onServed: (mac, bytes, durationMs) =>
        downloads.record(mac, { path: '/installer/', bytes, durationMs, complete: true, status: 200 }),
    },
    api: { store, tokens, adminToken: config.admin.token },
    mirrorRoot: new FileRoot(mirrorDir),
    assetsRoot: new FileRoot(join(config.dataDir, 'assets')),
    onDelivered: (c, d) => downloads.record(c.get('mac'), d),
  });
  const http = await listenHttp(app, parseListen(config.http.listen));
  lifecycle.add(http);
  const httpUrl = `http://${formatHost(http.address.address)}:${http.address.port}`;
  log.info(
    { listener: 'http', address: httpUrl, publicUrl: config.publicUrl, config: config.source },
    `HTTP listening on ${httpUrl}`,
  );
  if (config.tftp.enabled) {
    const tftp = await startTftp(config.tftp, tftpSource(config), log.child({ sub: 'tftp' })).catch(
      async (err: unknown) => {
        await lifecycle.stop('TFTP failed to start', 0);
        throw err;
      },
    );
    lifecycle.add(tftp);
  }
  // Background mirror refresh (mirror.autoRefresh). TODO(lead): pass the versions machines
  // are installing (from machine state) as the third argument so retention keeps them.
  const mirrorJob = startMirrorJob(config, log.child({ sub: 'mirror' }));
  if (mirrorJob) lifecycle.add(mirrorJob);
  return { lifecycle, httpUrl };
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

/** iPXE binaries from tftp.root, plus a generated script that chains to our HTTP side. */
function tftpSource(config: Config): TftpSource {
  const root = new FileRoot(config.tftp.root);
  const chain = `#!ipxe\nchain ${config.publicUrl}/boot.ipxe\n`;
  return withGeneratedFiles(
    { 'boot.ipxe': chain, 'autoexec.ipxe': chain },
    { open: (name) => openUnderRoot(root, segmentsFromTftpName(name)) },
  );
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
