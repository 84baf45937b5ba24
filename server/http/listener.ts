// Start the Hono app on a Node HTTP server and stop it gracefully: stop accepting, let
// in-flight downloads finish until the deadline, then cut what is left with a TCP reset.
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
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
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
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
    stop: (deadline) => closeGracefully(server, sockets, deadline),
  };
}

/**
 * A download still running at the deadline is reset, not closed: a plain close would queue a
 * FIN behind megabytes of unsent data, and when railyard runs in a container its network
 * namespace is gone before that reaches the client, which then waits for its own timeout.
 * A reset tells the client at once that the transfer was cut, so it can retry elsewhere.
 */
function closeGracefully(server: Server, sockets: Set<Socket>, deadline: number): Promise<void> {
  return new Promise((resolve) => {
    const cut = () => {
      for (const socket of sockets) socket.resetAndDestroy();
    };
    const timer = setTimeout(cut, Math.max(0, deadline - Date.now()));
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
