// Static file responses for /mirror/* and /assets/*: HEAD, Range, conditional requests,
// Content-Length always. Bodies are streamed from disk, never buffered whole. On the real
// Node server the file goes straight to the socket through reused buffers (send-file.ts, no
// web-stream hop); in-process (app.request in tests) a web ReadableStream is returned instead.
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { FileRoot, OpenedFileHandle } from '../assets/file-root.ts';
import type { AppEnv } from './app.ts';
import { decideRange, etagFor, type FileMeta, notModified } from './range.ts';
import { type SendProgress, sendFileRange } from './send-file.ts';

export interface Delivery {
  path: string;
  status: number;
  bytes: number;
  size: number;
  durationMs: number;
  /** False when the client went away before the body was fully sent. */
  complete: boolean;
}

export type DeliveryListener = (c: Context<AppEnv>, delivery: Delivery) => void;

/** Called as a body streams: `sent` of `length` body bytes so far (one call per chunk read). */
export type ProgressListener = (c: Context<AppEnv>, path: string, sent: number, length: number) => void;

const TEXT_TYPES: Record<string, string> = {
  '.txt': 'text/plain; charset=utf-8',
  '.DIGESTS': 'text/plain; charset=utf-8',
  '.asc': 'text/plain; charset=utf-8',
  '.ipxe': 'text/plain; charset=utf-8',
  '.json': 'application/json',
};

function contentType(path: string): string {
  const dot = path.lastIndexOf('.');
  return (dot >= 0 && TEXT_TYPES[path.slice(dot)]) || 'application/octet-stream';
}

export async function serveFile(
  c: Context<AppEnv>,
  root: FileRoot,
  segments: string[],
  onDelivered?: DeliveryListener,
  onProgress?: ProgressListener,
): Promise<Response> {
  const started = performance.now();
  // the one open path of HTTP and TFTP (file-root.ts): headers describe the handle we stream
  const file = await root.open(segments);
  let streaming = false;
  try {
    const meta: FileMeta = {
      size: file.size,
      mtimeMs: file.mtimeMs,
      etag: etagFor(file.size, file.mtimeMs, file.ino),
    };
    const headers: Record<string, string> = {
      'Accept-Ranges': 'bytes',
      'Last-Modified': new Date(file.mtimeMs).toUTCString(),
      ETag: meta.etag,
      'Content-Type': contentType(file.path),
    };
    const path = `/${segments.filter(Boolean).join('/')}`;
    const report = (status: number, bytes: number, complete: boolean) =>
      onDelivered?.(c, {
        path,
        status,
        bytes,
        size: file.size,
        durationMs: performance.now() - started,
        complete,
      });

    if (notModified(meta, c.req.header('if-none-match'), c.req.header('if-modified-since'))) {
      report(304, 0, true);
      return new Response(null, { status: 304, headers });
    }
    const range = decideRange(meta, c.req.header('range'), c.req.header('if-range'));
    if (range.kind === 'unsatisfiable') {
      report(416, 0, true);
      return new Response(null, {
        status: 416,
        headers: { ...headers, 'Content-Range': `bytes */${file.size}` },
      });
    }
    const [status, start, end] =
      range.kind === 'partial' ? [206, range.start, range.end] : [200, 0, file.size - 1];
    const length = end - start + 1;
    headers['Content-Length'] = String(length);
    if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${file.size}`;
    if (c.req.method === 'HEAD' || length === 0) {
      report(status, 0, true);
      return new Response(null, { status, headers });
    }
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    c.set('status', status);
    c.set('bytes', length);
    const progress = onProgress && ((sent: number) => onProgress(c, path, sent, length));
    streaming = true; // from here the body's sender closes the file
    if (outgoing) return pipeToSocket(outgoing, file, status, headers, start, end, report, progress);
    const stream = file.handle.createReadStream({ start, end, highWaterMark: 256 * 1024 });
    let sent = 0;
    stream.on('data', (chunk) => {
      sent += chunk.length;
      progress?.(sent);
    });
    stream.on('close', () => report(status, sent, sent === length));
    return new Response(Readable.toWeb(stream) as ReadableStream, { status, headers });
  } finally {
    // every reply without a body (304, 416, HEAD, empty) closes the file here
    if (!streaming) await file.handle.close();
  }
}

function pipeToSocket(
  outgoing: ServerResponse,
  file: OpenedFileHandle,
  status: number,
  headers: Record<string, string>,
  start: number,
  end: number,
  report: (status: number, bytes: number, complete: boolean) => void,
  progress?: (sent: number) => void,
): Response {
  const length = end - start + 1;
  const tracker: SendProgress = { sent: 0, onChunk: progress };
  outgoing.writeHead(status, headers);
  outgoing.once('close', () =>
    report(status, tracker.sent, tracker.sent === length && outgoing.writableFinished),
  );
  sendFileRange(outgoing, file.handle, file.path, start, end, tracker).catch(() => outgoing.destroy());
  return RESPONSE_ALREADY_SENT;
}
