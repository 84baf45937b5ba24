// Composition root: config → stores, caches, renderer → HTTP (+ TFTP) listeners and jobs.
// The only module that sees every layer.
import { join } from 'node:path';
import { FileRoot } from './assets/file-root.ts';
import { type Config, parseListen } from './config.ts';
import { createApp } from './http/app.ts';
import { listenHttp } from './http/listener.ts';
import { Lifecycle } from './lifecycle.ts';
import type { Logger } from './log.ts';
import { startMirrorJob } from './mirror/auto-refresh.ts';

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
  // Background mirror refresh (mirror.autoRefresh). TODO(lead): pass the versions machines
  // are installing (from machine state) as the third argument so retention keeps them.
  const mirrorJob = startMirrorJob(config, log.child({ sub: 'mirror' }));
  if (mirrorJob) lifecycle.add(mirrorJob);
  return { lifecycle, httpUrl };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
