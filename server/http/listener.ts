// Start the Hono app on a Node HTTP server and stop it gracefully: stop accepting, let
// in-flight downloads finish until the deadline, then cut what is left.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import type { ListenAddress } from '../config.ts';
import type { Stoppable } from '../lifecycle.ts';
import type { AppEnv } from './app.ts';

export interface HttpListener extends Stoppable {
  address: AddressInfo;
}

export async function listenHttp(app: Hono<AppEnv>, at: ListenAddress): Promise<HttpListener> {
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  server.keepAliveTimeout = 5000;
  server.requestTimeout = 0; // big downloads on slow links must not be cut
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    name: 'http',
    address: server.address() as AddressInfo,
    stop: (deadline) => closeGracefully(server, deadline),
  };
}

function closeGracefully(server: Server, deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
