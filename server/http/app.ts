// The Hono app: routes by area, one error mapping, one request log line per request.
import { Hono } from 'hono';
import { type FileRoot, segmentsFromUrlPath } from '../assets/file-root.ts';
import type { BootService } from '../boot/service.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type Mac, macOrUndefined } from '../machines/identity.ts';
import type { RailyardMetrics } from '../metrics/metrics.ts';
import type { UpdateService } from '../updates/service.ts';
import { VERSION } from '../version.ts';
import { type ApiDeps, apiRoutes } from './api-routes.ts';
import { type BootListener, bootRoutes } from './boot-routes.ts';
import { type AttemptClientListener, reportAttemptClient } from './client.ts';
import { onError } from './errors.ts';
import { checkHost } from './host-check.ts';
import { type InstallerRouteDeps, installerRoutes } from './installer-routes.ts';
import { countRequests, metricsRoutes } from './metrics-routes.ts';
import { type PoolRouteDeps, poolRoutes } from './pool-routes.ts';
import { poolUiRoutes } from './pool-ui-routes.ts';
import { requestLog } from './request-log.ts';
import { type DeliveryListener, type ProgressListener, serveFile } from './static.ts';
import { type Access, requireApiRead, requireUiRead } from './ui-auth.ts';
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
  /** Who may read /ui and /api/v1 (sessions, admin token, ui.public) and by which Host names. */
  access: Access;
  onDelivered?: DeliveryListener;
  onBootDecision?: BootListener;
  /** Static file bodies as they stream (the dashboard's image download progress). */
  onProgress?: ProgressListener;
  /** The peer address of each request authenticated for an install attempt (reports, installer). */
  onAttemptClient?: AttemptClientListener;
  /** /metrics and per-route request counters. */
  metrics?: RailyardMetrics;
  /** The dashboard under /ui. */
  ui?: Omit<UiRouteDeps, 'access'>;
  /** The warm pool: the claim long-poll, claims, releases, the pool listing (docs/pool.md). */
  pool?: PoolRouteDeps;
  /** The Omaha endpoint (/v1/update/) and the update API (docs/updates.md). */
  updates?: { service: UpdateService; api: UpdateApiDeps; onRejected?: () => void };
  startedAt?: number;
  /** Rejects when the state store cannot answer: /healthz says unhealthy (503). */
  health?: () => Promise<void>;
}

/**
 * Per-request variables: the machine MAC when known; the install attempt the request was
 * authenticated for (an accepted report, a served installer); status/bytes of a body piped
 * past Hono; `bytes` also where a route knows its body's length (scripts, installers), so the
 * request log and metrics need not look at the response's headers (which builds a Headers
 * object and takes @hono/node-server off its plain-object fast path).
 */
export type AppEnv = { Variables: { mac?: Mac; attempt?: number; status?: number; bytes?: number } };

export function createApp(deps: HttpDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const startedAt = deps.startedAt ?? Date.now();
  app.use(requestLog(deps.log));
  if (deps.metrics) app.use(countRequests(deps.metrics));
  if (deps.onAttemptClient) app.use(reportAttemptClient(deps.onAttemptClient));
  app.onError(onError(deps.log));
  // Operators' surfaces: DNS-rebinding check, then sign-in (GET and HEAD only). Installer
  // reports (POST /api/v1/machines/<mac>/attempts/<id>/events and …/events) carry their
  // attempt's credential and need no sign-in, but pass the Host check too: installers use
  // publicUrl, whose host is always allowed.
  for (const path of ['/', '/ui', '/ui/*', '/api/*']) app.use(path, checkHost(deps.access.hosts));
  app.use('/api/v1/*', requireApiRead(deps.access));
  for (const path of ['/ui', '/ui/*']) app.use(path, requireUiRead(deps.access));
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));

  app.get('/healthz', async (c) => {
    const base = { version: VERSION, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) };
    const state = await checkHealth(deps.health);
    if (state === 'ok') return c.json({ status: 'ok', ...base, state });
    return c.json({ status: 'unhealthy', ...base, state }, 503);
  });
  bootRoutes(app, deps.boot, deps.log, deps.onBootDecision);
  installerRoutes(app, { ...deps.installer, boot: deps.boot });
  apiRoutes(app, deps.api, deps.access);
  if (deps.pool) poolRoutes(app, deps.pool, deps.access);
  if (deps.metrics) metricsRoutes(app, deps.metrics);
  if (deps.ui) uiRoutes(app, { ...deps.ui, access: deps.access });
  if (deps.ui && deps.pool) poolUiRoutes(app, { ...deps.ui, access: deps.access }, deps.pool.service);
  if (deps.updates) {
    // POST /v1/update/ is machine-facing (update_engine), like /ipxe: outside the Host check
    // and sign-in above. /api/v1/updates… reads need a sign-in like the rest of /api/v1.
    updateRoutes(app, deps.updates.service, deps.updates.onRejected);
    updateApiRoutes(app, deps.updates.api, deps.access);
    if (deps.ui) updateUiRoutes(app, { ...deps.ui, access: deps.access }, deps.updates.api);
  }

  for (const [prefix, root] of [
    ['/mirror/', deps.mirrorRoot],
    ['/assets/', deps.assetsRoot],
  ] as const) {
    app.on(['GET', 'HEAD'], `${prefix}*`, (c) => {
      const raw = new URL(c.req.url).pathname.slice(prefix.length);
      // ?mac= only attributes the download (downloads.ts): one that is not a MAC is ignored.
      const mac = macOrUndefined(c.req.query('mac'));
      if (mac) c.set('mac', mac);
      return serveFile(c, root, segmentsFromUrlPath(raw), deps.onDelivered, deps.onProgress);
    });
  }
  return app;
}

const HEALTH_TIMEOUT_MS = 2000;

/** 'ok', or why the state store cannot answer (within 2 s). */
async function checkHealth(health: (() => Promise<void>) | undefined): Promise<string> {
  if (!health) return 'ok';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
  });
  try {
    await Promise.race([health(), timeout]);
    return 'ok';
  } catch (err) {
    return `state store unavailable: ${errorMessage(err)}`;
  } finally {
    clearTimeout(timer);
  }
}
