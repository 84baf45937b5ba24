// Start the Hono app on a Node HTTP server and stop it gracefully: stop accepting, let
// in-flight downloads finish until the deadline, then cut what is left with a TCP reset.
//
// Limits (config `http.*`): a client has `headerTimeout` for its request line and headers
// and `bodyTimeout` more for its body (Node's requestTimeout covers receiving the request
// only, never a slow download); a connection silent both ways for `idleTimeout` is closed;
// at most `maxConnections` sockets overall and `maxConnectionsPerClient` per peer address.
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { StartupError } from '../errors.ts';
import type { Stoppable } from '../lifecycle.ts';
import type { ListenAddress } from '../listen-address.ts';
import type { Logger } from '../log.ts';
import type { AppEnv } from './app.ts';

export interface HttpLimits {
  headerTimeout: number;
  bodyTimeout: number;
  idleTimeout: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
}

export const DEFAULT_LIMITS: HttpLimits = {
  headerTimeout: 10_000,
  bodyTimeout: 30_000,
  idleTimeout: 120_000,
  maxConnections: 4096,
  maxConnectionsPerClient: 256,
};

export interface HttpListener extends Stoppable {
  address: AddressInfo;
  /** The Node server (its 'error' after listen is fatal: `onFatal`). */
  server: Server;
}

export async function listenHttp(
  app: Hono<AppEnv>,
  at: ListenAddress,
  limits: HttpLimits = DEFAULT_LIMITS,
  log?: Logger,
  /** The server failed after it started listening (main.ts: a fatal error, everything stops). */
  onFatal?: (err: Error) => void,
): Promise<HttpListener> {
  const server = createAdaptorServer({
    fetch: app.fetch,
    // How often Node looks for requests past their header/body deadline (default 30 s).
    serverOptions: { connectionsCheckingInterval: Math.min(1000, limits.headerTimeout) },
  }) as Server;
  server.keepAliveTimeout = 5000;
  server.headersTimeout = limits.headerTimeout;
  server.requestTimeout = limits.headerTimeout + limits.bodyTimeout;
  server.timeout = limits.idleTimeout;
  server.maxConnections = limits.maxConnections;
  const warn = warnOncePerMinute(log);
  capPerClient(server, limits.maxConnectionsPerClient, warn);
  server.on('drop', (data?: { remoteAddress?: string }) =>
    warn('overall', { client: data?.remoteAddress, max: limits.maxConnections }),
  );
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenError(at, err as NodeJS.ErrnoException)));
    server.listen(at.port, at.host, () => {
      server.removeAllListeners('error');
      server.on('error', (err) => {
        log?.error({ err }, 'HTTP server error');
        onFatal?.(err);
      });
      resolve();
    });
  });
  return {
    name: 'http',
    address: server.address() as AddressInfo,
    server,
    stop: (deadline) => closeGracefully(server, sockets, deadline),
  };
}

const BUSY =
  'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n';

/** More than `max` open sockets from one address: answer 503 and close the new one. */
function capPerClient(server: Server, max: number, warn: Warn): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    const n = (open.get(ip) ?? 0) + 1;
    open.set(ip, n);
    socket.once('close', () => {
      const left = (open.get(ip) ?? 1) - 1;
      if (left > 0) open.set(ip, left);
      else open.delete(ip);
    });
    if (n > max) {
      warn(ip, { client: ip, max });
      socket.end(BUSY);
      socket.destroySoon();
    }
  });
}

type Warn = (key: string, fields: Record<string, unknown>) => void;

/** One warning per client (or for the overall cap) per minute: a flood must not flood the log. */
function warnOncePerMinute(log: Logger | undefined): Warn {
  const warned = new Map<string, number>();
  return (key, fields) => {
    const now = Date.now();
    if ((warned.get(key) ?? 0) > now - 60_000) return;
    if (warned.size > 10_000) warned.clear();
    warned.set(key, now);
    const which = key === 'overall' ? 'http.maxConnections' : 'http.maxConnectionsPerClient';
    log?.warn(fields, `HTTP connection refused: ${which} reached`);
  };
}

function listenError(at: ListenAddress, err: NodeJS.ErrnoException): StartupError {
  const where = at.host.includes(':') ? `[${at.host}]:${at.port}` : `${at.host}:${at.port}`;
  const fix =
    err.code === 'EADDRINUSE'
      ? 'another process holds the port: stop it, or set http.listen (--listen) to another port'
      : err.code === 'EACCES'
        ? 'ports below 1024 need privileges: use a higher port or grant CAP_NET_BIND_SERVICE'
        : err.code === 'EADDRNOTAVAIL'
          ? 'the address does not belong to this host'
          : 'check http.listen';
  return new StartupError(`http.listen: cannot listen on ${where} (${err.code ?? err.message}): ${fix}`, {
    key: 'http.listen',
    cause: err,
  });
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
