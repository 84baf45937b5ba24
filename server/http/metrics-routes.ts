// GET /metrics (Prometheus text format) and the middleware that counts requests by matched
// route pattern (bounded cardinality: never the raw path) and body bytes by kind. Static
// files (/mirror/*, /assets/*) are piped after the handler returns, so their bytes are
// counted on delivery (main.ts: onDelivered), with the bytes actually sent.
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { bytesKind, type RailyardMetrics } from '../metrics/metrics.ts';
import type { AppEnv } from './app.ts';

const STATIC_ROUTES = /^\/(mirror|assets)\//;

/** The matched route pattern of the handler that answered; `unmatched` for 404s without a route. */
export function matchedRoute(c: Context): string {
  const route = routePath(c);
  return route === '' || route === '*' || route === '/*' ? 'unmatched' : route;
}

export function countRequests(metrics: RailyardMetrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const route = matchedRoute(c);
    const status = c.get('status') ?? c.res.status;
    metrics.httpRequests.inc({ method: c.req.method, route, status: String(status) });
    if (c.req.method === 'HEAD' || STATIC_ROUTES.test(route)) return;
    // a route that knows its body's length says so (c.get('bytes')): no Headers object built
    const bytes = c.get('bytes') ?? (await bodyLength(c.res));
    if (bytes > 0) metrics.bytesServed.inc({ kind: bytesKind(c.req.path) }, bytes);
  };
}

/** Content-Length, or the size of a small buffered body (scripts, pages) that has none. */
async function bodyLength(res: Response): Promise<number> {
  const header = res.headers.get('content-length');
  if (header !== null) return Number(header);
  if (!res.body) return 0;
  return (await res.clone().arrayBuffer()).byteLength;
}

export function metricsRoutes(app: Hono<AppEnv>, metrics: RailyardMetrics): void {
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, {
      'Content-Type': metrics.registry.contentType,
      'Cache-Control': 'no-store',
    }),
  );
}
