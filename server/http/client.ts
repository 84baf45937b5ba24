// The peer address of a request on the Node server; undefined in-process (app.request).
import type { Context, MiddlewareHandler } from 'hono';
import { canonicalMac, isMac } from '../machines/identity.ts';
import type { AppEnv } from './app.ts';

export function clientAddress(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}

export type MachineClientListener = (mac: string, ip: string) => void;

/** After each request that named a machine (c.get('mac')), tell the listener its peer address. */
export function reportMachineClient(listener: MachineClientListener): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const mac = c.get('mac');
    const ip = clientAddress(c);
    if (mac && ip && isMac(mac)) listener(canonicalMac(mac), ip);
  };
}
