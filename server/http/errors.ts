// Map named domain errors to HTTP replies, in one place. Every failure gets a detailed log
// line and a short reply; an unexpected error is a 500 with its cause logged.
import type { Context } from 'hono';
import {
  BusyError,
  ConflictError,
  ForbiddenError,
  InvalidRequestError,
  isResourceExhausted,
  NotFoundError,
  RateLimitedError,
  StorageError,
  TooLargeError,
  UnauthorizedError,
  VerificationError,
} from '../errors.ts';
import type { Logger } from '../log.ts';

export function statusFor(err: unknown): 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 502 | 503 {
  if (err instanceof InvalidRequestError) return 400;
  if (err instanceof RateLimitedError) return 429;
  if (err instanceof UnauthorizedError) return 401;
  if (err instanceof ForbiddenError) return 403;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  if (err instanceof TooLargeError) return 413;
  if (err instanceof VerificationError) return 502;
  if (err instanceof BusyError || err instanceof StorageError) return 503;
  // out of descriptors or memory for a moment (a file could not be opened): retry, as TFTP says busy
  if (isResourceExhausted(err)) return 503;
  return 500;
}

/** nginx's "client closed request": nobody reads the reply, the log line says what happened. */
export const CLIENT_CLOSED = 499;

/** The client hung up before its request was read in full (a cut upload, a closed tab). */
export function clientWentAway(err: Error, c: Context): boolean {
  const incoming = (
    c.env as { incoming?: { aborted?: boolean; socket?: { destroyed?: boolean } } } | undefined
  )?.incoming;
  const code = (err as NodeJS.ErrnoException).code;
  return (
    (code === 'ECONNRESET' && err.message === 'aborted') ||
    incoming?.aborted === true ||
    incoming?.socket?.destroyed === true
  );
}

export function onError(log: Logger) {
  return (err: Error, c: Context): Response => {
    if (clientWentAway(err, c)) {
      log.info({ method: c.req.method, path: c.req.path, reason: err.message }, 'client went away');
      return new Response(null, { status: CLIENT_CLOSED });
    }
    const status = statusFor(err);
    const detail = {
      method: c.req.method,
      path: c.req.path,
      status,
      err: { name: err.name, message: err.message },
    };
    if (status === 500) log.error({ ...detail, stack: err.stack }, 'request failed');
    else if (err instanceof StorageError)
      log.error({ ...detail, cause: String(err.cause) }, 'state store failed');
    // Refused credentials and reports that do not fit an attempt: what an operator watches for.
    else if (status === 401 || status === 403 || status === 409 || status === 429)
      log.warn(detail, 'request refused');
    else log.debug(detail, 'request refused');
    const message = status === 500 ? 'internal error (see server log)' : err.message;
    if (err instanceof RateLimitedError) c.header('Retry-After', String(err.retryAfterSec));
    return c.json({ error: message }, status);
  };
}
