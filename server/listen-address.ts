// A `host:port` listen address (leaf helper: config, the HTTP and TFTP listeners and the CLI
// share it; it imports nothing of railyard's).
export interface ListenAddress {
  host: string;
  port: number;
}

/** `host:port`, `[v6]:port`: the host without brackets and the port as a number. */
export function parseListen(listen: string): ListenAddress {
  const idx = listen.lastIndexOf(':');
  const host = listen.slice(0, idx).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(idx + 1)) };
}
