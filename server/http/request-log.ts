// One log line per request: method, path, status, bytes, duration, client IP, MAC if known.
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../log.ts';
import type { AppEnv } from './app.ts';

export function requestLog(log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    if (!log.isLevelEnabled('info')) return; // nothing to build at warn and above
    const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
    log.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.get('status') ?? c.res.status,
        bytes: c.get('bytes') ?? Number(c.res.headers.get('content-length') ?? 0),
        ms: Math.round((performance.now() - started) * 10) / 10,
        client: incoming?.socket?.remoteAddress,
        mac: c.get('mac'),
      },
      'request',
    );
  };
}
