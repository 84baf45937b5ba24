// HTTP client for an upstream release server (Flatcar's or another railyard): small text
// files, and resumable streaming downloads with `Range`. Transient failures (network
// errors, timeouts, 5xx, 429, bodies cut short) are retried a bounded number of times with
// exponential backoff; a 404 or another 4xx is final. Disk errors are never retried.
import { open, stat, truncate } from 'node:fs/promises';
import { UpstreamError } from '../errors.ts';
import type { Logger } from '../log.ts';

export interface UpstreamOptions {
  /** URL template with `{channel}` and `{board}`. */
  template: string;
  /** Give up on a request after this long without a response or without a body chunk. */
  timeoutMs: number;
  retries: number;
  /** First backoff delay; doubles per attempt, capped at 30 s. */
  retryDelayMs: number;
  log: Logger;
  signal?: AbortSignal | undefined;
}

/** A cached validator for conditional GETs of small text files. */
export interface CachedText {
  body: string;
  etag?: string | undefined;
  lastModified?: string | undefined;
}

export interface DownloadResult {
  /** File size on disk when done. */
  size: number;
  /** Bytes received over the network in this call. */
  received: number;
  /** Offset the download resumed from (0 = fetched whole). */
  resumedFrom: number;
}

/** `done`: bytes of the file on disk; `received`: bytes received by this attempt. */
export type ProgressFn = (done: number, total: number | undefined, received: number) => void;

/** A failure worth retrying (network, timeout, 5xx, short body). */
export class TransientError extends UpstreamError {}

export class Upstream {
  readonly #o: UpstreamOptions;
  /** Basic credentials from the template's user info; URLs (and so messages) never carry them. */
  readonly #auth: Record<string, string>;
  readonly #template: string;

  constructor(options: UpstreamOptions) {
    this.#o = options;
    const { template, authorization } = splitCredentials(options.template);
    this.#template = template;
    this.#auth = authorization ? { Authorization: authorization } : {};
  }

  baseUrl(channel: string, board: string): string {
    return this.#template
      .replaceAll('{channel}', encodeURIComponent(channel))
      .replaceAll('{board}', encodeURIComponent(board))
      .replace(/\/+$/, '');
  }

  /** GET a small text file; `undefined` for a 404 when `optional`. Honors a cached validator. */
  async fetchText(url: string, optional = false, cached?: CachedText): Promise<CachedText | undefined> {
    return this.#withRetries(url, async (signal) => {
      const headers: Record<string, string> = { ...this.#auth };
      if (cached?.etag) headers['If-None-Match'] = cached.etag;
      if (cached?.lastModified) headers['If-Modified-Since'] = cached.lastModified;
      const res = await request(url, { headers, signal });
      if (res.status === 304 && cached) return cached;
      if (res.status === 404 && optional) return undefined;
      checkStatus(url, res);
      const body = await readBody(url, res);
      return {
        body,
        etag: res.headers.get('etag') ?? undefined,
        lastModified: res.headers.get('last-modified') ?? undefined,
      };
    });
  }

  /**
   * Download `url` into `dest`, resuming from the bytes already there. `undefined` for a
   * 404 when `optional`. The file is fsynced before returning.
   */
  async download(
    url: string,
    dest: string,
    optional = false,
    onProgress?: ProgressFn,
  ): Promise<DownloadResult | undefined> {
    const resumedFrom = await sizeOf(dest);
    let received = 0;
    const result = await this.#withRetries(url, async (signal, touch) => {
      let got = 0; // bytes of this attempt, counted even when it fails half-way
      try {
        return await downloadOnce(url, dest, signal, optional, this.#auth, (done, total, n) => {
          got = n;
          touch();
          onProgress?.(done, total, received + n);
        });
      } finally {
        received += got;
      }
    });
    return result && { size: result.size, received, resumedFrom };
  }

  async #withRetries<T>(
    url: string,
    attempt: (signal: AbortSignal, touch: () => void) => Promise<T>,
  ): Promise<T> {
    for (let n = 0; ; n++) {
      const idle = new IdleTimeout(this.#o.timeoutMs);
      const signal = this.#o.signal ? AbortSignal.any([idle.signal, this.#o.signal]) : idle.signal;
      try {
        return await attempt(signal, () => idle.touch());
      } catch (err) {
        const e = idle.fired ? new TransientError(`${url}: no response for ${this.#o.timeoutMs} ms`) : err;
        if (!(e instanceof TransientError) || n >= this.#o.retries || this.#o.signal?.aborted) throw e;
        const delay = Math.min(30_000, this.#o.retryDelayMs * 2 ** n);
        this.#o.log.warn(
          { url, attempt: n + 1, delayMs: delay, reason: e.message },
          'upstream failed, retrying',
        );
        await sleep(delay, this.#o.signal);
      } finally {
        idle.clear();
      }
    }
  }
}

async function downloadOnce(
  url: string,
  dest: string,
  signal: AbortSignal,
  optional: boolean,
  auth: Record<string, string>,
  onProgress?: ProgressFn,
): Promise<DownloadResult | undefined> {
  const have = await sizeOf(dest);
  const res = await request(url, { headers: have > 0 ? { ...auth, Range: `bytes=${have}-` } : auth, signal });
  if (res.status === 404 && optional) return undefined;
  if (res.status === 416 && have > 0) {
    await res.body?.cancel();
    if (totalFromContentRange(res.headers.get('content-range')) === have) {
      return { size: have, received: 0, resumedFrom: have };
    }
    await truncate(dest, 0);
    throw new TransientError(`${url}: partial file does not fit upstream, fetching whole`);
  }
  checkStatus(url, res);
  const partial = res.status === 206 ? parseContentRange(res.headers.get('content-range')) : undefined;
  if (res.status === 206 && partial?.start !== have) {
    await res.body?.cancel();
    await truncate(dest, 0);
    throw new TransientError(`${url}: upstream answered an unexpected range, fetching whole`);
  }
  const offset = partial ? have : 0;
  const length = Number(res.headers.get('content-length') ?? Number.NaN);
  const total = partial?.total ?? (Number.isFinite(length) ? length : undefined);
  const received = await writeBody(url, res, dest, offset, total, onProgress);
  const size = offset + received;
  if (total !== undefined && size !== total) {
    throw new TransientError(`${url}: body cut short at ${size} of ${total} bytes`);
  }
  return { size, received, resumedFrom: offset };
}

async function writeBody(
  url: string,
  res: Response,
  dest: string,
  offset: number,
  total: number | undefined,
  onProgress?: ProgressFn,
): Promise<number> {
  const fh = await open(dest, offset > 0 ? 'a' : 'w');
  let received = 0;
  try {
    const reader = res.body?.getReader();
    for (;;) {
      const chunk = reader ? await readChunk(url, reader) : undefined;
      if (!chunk) break;
      await fh.write(chunk).catch((err) => withPath(err, dest));
      received += chunk.length;
      onProgress?.(offset + received, total, received);
    }
    await fh.sync().catch((err) => withPath(err, dest));
  } finally {
    await fh.close().catch(() => undefined);
  }
  return received;
}

/** Write errors from a file handle carry no path: add it so the message names the file. */
function withPath(err: NodeJS.ErrnoException, path: string): never {
  err.path ??= path;
  throw err;
}

async function readChunk(
  url: string,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<Uint8Array | undefined> {
  try {
    const r = await reader.read();
    return r.done ? undefined : r.value;
  } catch (err) {
    throw new TransientError(`${url}: connection lost (${causeOf(err)})`, { cause: err });
  }
}

/** `https://user:pass@host/{board}` → the template without user info + a Basic header. */
export function splitCredentials(template: string): { template: string; authorization?: string } {
  const m = /^(https?:\/\/)([^/@]*)@(.*)$/i.exec(template);
  if (!m) return { template };
  const [user = '', pass = ''] = (m[2] as string).split(/:(.*)/s);
  const pair = `${decodeURIComponent(user)}:${decodeURIComponent(pass)}`;
  return { template: `${m[1]}${m[3]}`, authorization: `Basic ${Buffer.from(pair).toString('base64')}` };
}

async function request(url: string, init: { headers: Record<string, string>; signal: AbortSignal }) {
  try {
    // identity: a transparently decompressed body would not match Content-Length or Range.
    const headers = { 'Accept-Encoding': 'identity', ...init.headers };
    return await fetch(url, { ...init, headers, redirect: 'follow' });
  } catch (err) {
    throw new TransientError(`${url}: ${causeOf(err)}`, { cause: err });
  }
}

async function readBody(url: string, res: Response): Promise<string> {
  try {
    return await res.text();
  } catch (err) {
    throw new TransientError(`${url}: connection lost (${causeOf(err)})`, { cause: err });
  }
}

function checkStatus(url: string, res: Response): void {
  if (res.ok) return;
  void res.body?.cancel();
  const what = `${url}: upstream answered ${res.status} ${res.statusText}`.trim();
  if (res.status >= 500 || res.status === 429 || res.status === 408) throw new TransientError(what);
  throw new UpstreamError(what);
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.message) return cause.code ? `${cause.message} (${cause.code})` : cause.message;
  return (err as Error).message ?? String(err);
}

function parseContentRange(v: string | null): { start: number; total: number | undefined } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

function totalFromContentRange(v: string | null): number | undefined {
  const m = /^bytes \*\/(\d+)$/.exec(v ?? '');
  return m ? Number(m[1]) : undefined;
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** An abort signal that fires after `ms` without a `touch()`. */
class IdleTimeout {
  readonly #controller = new AbortController();
  readonly #ms: number;
  #timer: NodeJS.Timeout;
  fired = false;

  constructor(ms: number) {
    this.#ms = ms;
    this.#timer = this.#arm();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  touch(): void {
    clearTimeout(this.#timer);
    this.#timer = this.#arm();
  }

  clear(): void {
    clearTimeout(this.#timer);
  }

  #arm(): NodeJS.Timeout {
    return setTimeout(() => {
      this.fired = true;
      this.#controller.abort(new Error('idle timeout'));
    }, this.#ms);
  }
}
