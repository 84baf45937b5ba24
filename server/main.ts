// Composition root: config → stores, caches, renderer → HTTP (+ TFTP) listeners and jobs.
// The only module that sees every layer.
import { join } from 'node:path';
import { FileRoot } from './assets/file-root.ts';
import { MirrorReleaseResolver } from './assets/release-resolver.ts';
import { BootService } from './boot/service.ts';
import { type Config, parseListen } from './config.ts';
import { createApp } from './http/app.ts';
import { listenHttp } from './http/listener.ts';
import { Lifecycle } from './lifecycle.ts';
import type { Logger } from './log.ts';
import { MachineRegistry } from './machines/registry.ts';
import { IpxeRenderer } from './render/ipxe.ts';

export interface RunningServer {
  lifecycle: Lifecycle;
  httpUrl: string;
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const lifecycle = new Lifecycle(log);
  const machines = new MachineRegistry(config.machinesDir, log.child({ sub: 'machines' }));
  machines.watch();
  lifecycle.add(machines);
  const mirrorDir = join(config.dataDir, 'mirror');
  const boot = new BootService({
    machines: () => machines.current,
    releases: new MirrorReleaseResolver(mirrorDir),
    renderer: new IpxeRenderer(),
    publicUrl: config.publicUrl,
  });
  const app = createApp({
    log: log.child({ sub: 'http' }),
    boot,
    mirrorRoot: new FileRoot(mirrorDir),
    assetsRoot: new FileRoot(join(config.dataDir, 'assets')),
  });
  const http = await listenHttp(app, parseListen(config.http.listen));
  lifecycle.add(http);
  const httpUrl = `http://${formatHost(http.address.address)}:${http.address.port}`;
  log.info(
    { listener: 'http', address: httpUrl, publicUrl: config.publicUrl, config: config.source },
    `HTTP listening on ${httpUrl}`,
  );
  return { lifecycle, httpUrl };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
