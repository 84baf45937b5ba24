// A fake Flatcar release server on 127.0.0.1: serves the stand-in release tree (GET and HEAD,
// Content-Length, symlinks followed) for `railyard mirror refresh`. Nothing else listens.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export interface Upstream {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

export async function startUpstream(root: string): Promise<Upstream> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!));
    requests.push(`${req.method} ${path}`);
    if (path.includes('..')) return void res.writeHead(400).end();
    const file = join(root, path);
    stat(file).then(
      (st) => {
        if (!st.isFile()) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' });
        if (req.method === 'HEAD') return void res.end();
        createReadStream(file).pipe(res);
      },
      () => void res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
