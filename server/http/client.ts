// The peer address of a request on the Node server; undefined in-process (app.request).
import type { Context, MiddlewareHandler } from 'hono';
import { normalizeIp } from '../boot/views.ts';
import type { AppEnv } from './app.ts';

export function clientAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}

export type AttemptClientListener = (attemptId: number, ip: string) => void;

/**
 * After each request authenticated for an install attempt (c.get('attempt'): an accepted
 * report, a served installer), tell the listener its peer address (IPv4-mapped unwrapped).
 */
export function reportAttemptClient(listener: AttemptClientListener): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const attempt = c.get('attempt');
    if (attempt === undefined) return;
    const ip = normalizeIp(clientAddress(c));
    if (ip) listener(attempt, ip);
  };
}
