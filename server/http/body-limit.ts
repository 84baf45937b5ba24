// One request-body limit for every route that reads a body (API reports, dashboard forms):
// 64 KiB. A larger Content-Length is refused before a byte is read; a chunked body is cut
// off as soon as it passes the limit.
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from './app.ts';

export const MAX_BODY = 64 * 1024;

export function limitBody(): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: MAX_BODY,
    // Connection: close: the rest of an oversized upload is not read, the socket is shut.
    onError: (c) =>
      c.json({ error: `request body larger than ${MAX_BODY} bytes` }, 413, { Connection: 'close' }),
  });
}
