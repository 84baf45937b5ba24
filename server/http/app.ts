// The Hono app: routes by area, one error mapping, one request log line per request.
import { Hono } from 'hono';
import { type FileRoot, segmentsFromUrlPath } from '../assets/file-root.ts';
import type { BootService } from '../boot/service.ts';
import type { Logger } from '../log.ts';
import type { RailyardMetrics } from '../metrics/metrics.ts';
import type { UpdateService } from '../updates/service.ts';
import { VERSION } from '../version.ts';
import { type ApiDeps, apiRoutes } from './api-routes.ts';
import { type BootListener, bootRoutes } from './boot-routes.ts';
import { type MachineClientListener, reportMachineClient } from './client.ts';
import { onError } from './errors.ts';
import { type InstallerRouteDeps, installerRoutes } from './installer-routes.ts';
import { countRequests, metricsRoutes } from './metrics-routes.ts';
import { requestLog } from './request-log.ts';
import { type DeliveryListener, type ProgressListener, serveFile } from './static.ts';
import { type UiRouteDeps, uiRoutes } from './ui-routes.ts';
import { type UpdateApiDeps, updateApiRoutes } from './update-api-routes.ts';
import { updateRoutes } from './update-routes.ts';
import { updateUiRoutes } from './update-ui-routes.ts';

export interface HttpDeps {
  log: Logger;
  mirrorRoot: FileRoot;
  assetsRoot: FileRoot;
  boot: BootService;
  installer: Omit<InstallerRouteDeps, 'boot'>;
  api: ApiDeps;
  onDelivered?: DeliveryListener;
  onBootDecision?: BootListener;
  /** Static file bodies as they stream (the dashboard's image download progress). */
  onProgress?: ProgressListener;
  /** The peer address of each request that named a machine (installer reports, /ipxe, …). */
  onMachineClient?: MachineClientListener;
  /** /metrics and per-route request counters. */
  metrics?: RailyardMetrics;
  /** The dashboard under /ui. */
  ui?: UiRouteDeps;
  /** The Omaha endpoint (/v1/update/) and the update API (docs/updates.md). */
  updates?: { service: UpdateService; api: UpdateApiDeps; onRejected?: () => void };
  startedAt?: number;
}

/** Per-request variables: the machine MAC when known; status/bytes of a body piped past Hono. */
export type AppEnv = { Variables: { mac?: string; status?: number; bytes?: number } };

export function createApp(deps: HttpDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const startedAt = deps.startedAt ?? Date.now();
  app.use(requestLog(deps.log));
  if (deps.metrics) app.use(countRequests(deps.metrics));
  if (deps.onMachineClient) app.use(reportMachineClient(deps.onMachineClient));
  app.onError(onError(deps.log));
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));

  app.get('/healthz', (c) =>
    c.json({ status: 'ok', version: VERSION, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }),
  );
  bootRoutes(app, deps.boot, deps.log, deps.onBootDecision);
  installerRoutes(app, { ...deps.installer, boot: deps.boot });
  apiRoutes(app, deps.api);
  if (deps.metrics) metricsRoutes(app, deps.metrics);
  if (deps.ui) uiRoutes(app, deps.ui);
  if (deps.updates) {
    updateRoutes(app, deps.updates.service, deps.updates.onRejected);
    updateApiRoutes(app, deps.updates.api);
    if (deps.ui) updateUiRoutes(app, deps.ui, deps.updates.api);
  }

  for (const [prefix, root] of [
    ['/mirror/', deps.mirrorRoot],
    ['/assets/', deps.assetsRoot],
  ] as const) {
    app.on(['GET', 'HEAD'], `${prefix}*`, (c) => {
      const raw = new URL(c.req.url).pathname.slice(prefix.length);
      const mac = c.req.query('mac');
      if (mac) c.set('mac', mac);
      return serveFile(c, root, segmentsFromUrlPath(raw), deps.onDelivered, deps.onProgress);
    });
  }
  return app;
}
