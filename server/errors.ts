// Named domain errors. The core throws these; each transport maps them to its own
// replies at its edge (HTTP status codes in http/, TFTP error codes in tftp/).

export class RailyardError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

const RESOURCE_EXHAUSTED = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EAGAIN']);

/**
 * An operating-system error that says "out of descriptors, buffers or memory for now" (a
 * file could not be opened): retryable, so both transports answer busy (TFTP) / 503 (HTTP).
 */
export function isResourceExhausted(err: unknown): boolean {
  return RESOURCE_EXHAUSTED.has((err as NodeJS.ErrnoException | undefined)?.code ?? '');
}

/** The thing asked for does not exist (file, machine, profile, release). */
export class NotFoundError extends RailyardError {}

/** The request itself is malformed or unsafe (bad path, bad MAC, injected syntax). */
export class InvalidRequestError extends RailyardError {}

/** The caller is not allowed to do this (missing or wrong token). */
export class UnauthorizedError extends RailyardError {}

/** The request conflicts with current state (e.g. an illegal state transition). */
export class ConflictError extends RailyardError {}

/** The caller is known but may not do this from where it is (e.g. another client IP). */
export class ForbiddenError extends RailyardError {}

/** A request body is larger than the endpoint accepts. */
export class TooLargeError extends RailyardError {}

/** The state store cannot read or write right now (disk full, I/O error, locked). */
export class StorageError extends RailyardError {}

/** A configuration file or value is invalid. `file` and `key` name the culprit. */
export class ConfigError extends RailyardError {
  readonly file: string | undefined;
  readonly key: string | undefined;
  constructor(message: string, where: { file?: string | undefined; key?: string | undefined } = {}) {
    super(message);
    this.file = where.file;
    this.key = where.key;
  }
}

/**
 * A startup step failed for a reason outside the configuration's values (a port in use,
 * a directory that cannot be created): `railyard serve` stops with exit 1. `key` names the
 * setting to look at.
 */
export class StartupError extends RailyardError {
  readonly key: string | undefined;
  constructor(message: string, options: { key?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.key = options.key;
  }
}

/** A release or artifact failed verification (signature, digest, size). */
export class VerificationError extends RailyardError {}

/** An upstream (release server, another railyard) failed or answered badly. */
export class UpstreamError extends RailyardError {}

/** Too many failed attempts from this client (sign-in); try again after `retryAfterSec`. */
export class RateLimitedError extends RailyardError {
  readonly retryAfterSec: number;
  constructor(message: string, retryAfterSec: number) {
    super(message);
    this.retryAfterSec = retryAfterSec;
  }
}

/** Too many concurrent operations; try again later. */
export class BusyError extends RailyardError {}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Mask secrets that may travel inside a message: the password of a URL's user info
 * (`https://user:***@host/`, `?password=***`) and bearer tokens. Config values marked secret are never shown
 * at all (config.ts); this covers the ones embedded in other text (upstream URLs in errors).
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):[^@\s/]*@/gi, '$1:***@')
    .replace(/(Bearer\s+)[^\s"']+/gi, '$1[redacted]')
    .replace(/([?&](?:ssl)?password=)[^&\s"']*/gi, '$1***');
}
