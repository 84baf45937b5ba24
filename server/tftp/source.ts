// The one seam between TFTP and the rest of railyard: "open this name for this client".
// The composition root adapts the root-restricted file resolver (and generated files) to it.
// `open` throws the domain errors (NotFoundError, InvalidRequestError, BusyError); the server
// maps them to TFTP error codes.

export interface TftpClient {
  address: string;
  port: number;
}

export interface TftpFile {
  /** Known up front: it is sent as tsize and fixes the number of blocks. */
  readonly size: number;
  /** Positional read (like FileHandle.read): a retransmit re-reads, never replays a stream. */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

export interface TftpSource {
  open(name: string, client: TftpClient): Promise<TftpFile>;
}

/** Content held in memory, e.g. a generated iPXE script. */
export function memoryFile(content: string | Uint8Array): TftpFile {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  return {
    size: bytes.length,
    read: async (buffer, offset, length, position) => {
      const end = Math.min(bytes.length, position + length);
      return position >= end ? 0 : bytes.copy(buffer, offset, position, end);
    },
    close: async () => {},
  };
}

/**
 * Serve generated files (by exact name; a leading "/" or "\" is ignored) before falling back
 * to `fallback`. A function value is called per request, so it may depend on the client.
 */
export function withGeneratedFiles(
  files: Readonly<Record<string, string | ((client: TftpClient) => string)>>,
  fallback: TftpSource,
): TftpSource {
  const table = new Map(Object.entries(files));
  return {
    open: async (name, client) => {
      const generated = table.get(name.replace(/^[/\\]+/, ''));
      if (generated === undefined) return fallback.open(name, client);
      return memoryFile(typeof generated === 'function' ? generated(client) : generated);
    },
  };
}
