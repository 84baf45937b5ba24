// Composition root: config → stores, caches, renderer → HTTP (+ TFTP) listeners and jobs.
// The only module that sees every layer.
import { join } from 'node:path';
import { FileRoot, segmentsFromTftpName } from './assets/file-root.ts';
import { openUnderRoot } from './assets/open-file.ts';
import { type Config, parseListen } from './config.ts';
import { createApp } from './http/app.ts';
import { listenHttp } from './http/listener.ts';
import { Lifecycle } from './lifecycle.ts';
import type { Logger } from './log.ts';
import { type TftpSource, withGeneratedFiles } from './tftp/source.ts';
import { startTftp } from './tftp/start.ts';

export interface RunningServer {
  lifecycle: Lifecycle;
  httpUrl: string;
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const lifecycle = new Lifecycle(log);
  const app = createApp({
    log: log.child({ sub: 'http' }),
    mirrorRoot: new FileRoot(join(config.dataDir, 'mirror')),
    assetsRoot: new FileRoot(join(config.dataDir, 'assets')),
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
  return { lifecycle, httpUrl };
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
