// Start TFTP on every configured address. Port 69 needs privileges: with an explicit
// `tftp.listen` a bind failure stops startup with a message naming the setting and the fixes;
// with the built-in default (plain `npm start`) we fall back to an unprivileged port and warn.

import { StartupError } from '../errors.ts';
import { type ListenAddress, parseListen } from '../listen-address.ts';
import type { Logger } from '../log.ts';
import { type TftpLimits, type TftpObserver, TftpServer } from './server.ts';
import type { TftpSource } from './source.ts';

export interface TftpStartOptions extends TftpLimits {
  listen: readonly string[];
  /** False when tftp.listen came from the built-in default. */
  listenExplicit: boolean;
}

/** Tried in order when the default port 69 cannot be bound (0: any free port). */
export const FALLBACK_PORTS = [6969, 0];

export async function startTftp(
  options: TftpStartOptions,
  source: TftpSource,
  log: Logger,
  observer: TftpObserver = {},
) {
  const server = new TftpServer(source, options, log, observer);
  try {
    for (const listen of options.listen) {
      const at = parseListen(listen);
      const bound = await listenOrFallBack(server, at, options.listenExplicit, log);
      const shown = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
      log.info({ listener: 'tftp', address: shown }, `TFTP listening on ${shown}`);
    }
  } catch (err) {
    await server.stop(Date.now());
    throw err;
  }
  return server;
}

async function listenOrFallBack(server: TftpServer, at: ListenAddress, explicit: boolean, log: Logger) {
  try {
    return await server.listen(at);
  } catch (err) {
    if (explicit) throw bindError(at, err as NodeJS.ErrnoException);
    for (const port of FALLBACK_PORTS) {
      const bound = await server.listen({ host: at.host, port }).catch(() => undefined);
      if (!bound) continue;
      log.warn(
        {
          listener: 'tftp',
          wanted: `${at.host}:${at.port}`,
          port: bound.port,
          code: (err as NodeJS.ErrnoException).code,
        },
        `TFTP cannot bind ${at.host}:${at.port} (${(err as NodeJS.ErrnoException).code}); using unprivileged port ${bound.port} instead. ` +
          'PXE firmware only asks port 69: set tftp.listen and grant the privilege for real use.',
      );
      return bound;
    }
    throw bindError(at, err as NodeJS.ErrnoException);
  }
}

export function bindError(at: ListenAddress, err: NodeJS.ErrnoException): StartupError {
  const where = `${at.host}:${at.port}`;
  const fixes =
    err.code === 'EADDRINUSE'
      ? `another process holds it (tftpd-hpa, dnsmasq --enable-tftp, another railyard): stop it, or set tftp.listen to another address`
      : at.port < 1024
        ? `ports below 1024 need privileges: run as root, or grant CAP_NET_BIND_SERVICE ` +
          `(setcap cap_net_bind_service=+ep "$(readlink -f "$(command -v node)")", or ` +
          `AmbientCapabilities=CAP_NET_BIND_SERVICE in the systemd unit), or set tftp.listen to an ` +
          `unprivileged port such as 0.0.0.0:6969 and redirect UDP 69 to it (PXE firmware always asks port 69)`
        : 'check that the address belongs to this host (tftp.listen)';
  return new StartupError(
    `tftp.listen: cannot bind TFTP to ${where} (${err.code ?? err.message}): ${fixes}`,
    {
      key: 'tftp.listen',
      cause: err,
    },
  );
}
