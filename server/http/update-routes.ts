// POST /v1/update/ (and /v1/update): the Omaha 3.0 endpoint update_engine talks to
// (SERVER= in /etc/flatcar/update.conf). Machine-facing like /ipxe: no login. Bodies over
// 64 KiB, other content types and anything the parser refuses are a 400 and change nothing.
import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { InvalidRequestError } from '../errors.ts';
import { XML_LIMITS } from '../updates/omaha-xml.ts';
import type { UpdateService } from '../updates/service.ts';
import type { AppEnv } from './app.ts';
import { clientAddress } from './client.ts';

const XML_TYPES = new Set(['text/xml', 'application/xml']);

export function updateRoutes(app: Hono<AppEnv>, service: UpdateService, onRejected?: () => void): void {
  const limit = bodyLimit({
    maxSize: XML_LIMITS.bytes,
    onError: (c) => {
      onRejected?.();
      return c.json({ error: `invalid Omaha request: body larger than ${XML_LIMITS.bytes} bytes` }, 400);
    },
  });
  for (const path of ['/v1/update', '/v1/update/']) {
    app.post(path, limit, async (c) => {
      try {
        checkContentType(c.req.header('content-type'));
        const body = new Uint8Array(await c.req.arrayBuffer());
        const xml = await service.handle(body, clientAddress(c) ?? '');
        return c.body(xml, 200, { 'Content-Type': 'text/xml; charset=utf-8', 'Cache-Control': 'no-store' });
      } catch (err) {
        if (err instanceof InvalidRequestError) onRejected?.();
        throw err;
      }
    });
  }
}

/** As go-omaha's checkContentType: text/xml or application/xml, UTF-8 if a charset is named; none is fine. */
function checkContentType(header: string | undefined): void {
  if (!header) return;
  const [type, ...params] = header.split(';').map((s) => s.trim().toLowerCase());
  if (!XML_TYPES.has(type ?? ''))
    throw new InvalidRequestError(`invalid Omaha request: content type ${type} (expected text/xml)`);
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice(8)
    .replace(/"/g, '');
  if (charset && charset !== 'utf-8')
    throw new InvalidRequestError(`invalid Omaha request: charset ${charset} (expected utf-8)`);
}
