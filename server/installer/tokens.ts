// Token plumbing shared by the installer credentials (credentials.ts) and the admin API:
// the server secret, generated once into `<dataDir>/secret` (0600, created atomically:
// write a temp file, then link() it into place, so two starting processes agree on one
// secret), the admin token check and Bearer parsing. Tokens and the secret are never logged.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { ConfigError, errorMessage } from '../errors.ts';

const SECRET_BYTES = 32;
/** A token as presented: base64url of a SHA-256 HMAC (43 characters, 256 bits). */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Constant-time admin token check; hashing first makes lengths equal without leaking them. */
export function verifyAdminToken(expected: string | undefined, presented: string | undefined): boolean {
  if (expected === undefined || expected === '' || presented === undefined) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header; undefined when absent or another scheme. */
export function bearerToken(header: string | undefined | null): string | undefined {
  const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header ?? '');
  return m?.[1];
}

/** `initial` (hex): the secret to create when there is none yet (an imported state's). */
export function loadOrCreateSecret(file: string, initial?: string): Buffer {
  try {
    return readSecret(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const dir = join(file, '..');
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, initial ?? randomBytes(SECRET_BYTES).toString('hex'));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new ConfigError(`${file}: cannot create the token secret: ${errorMessage(err)}`, { file });
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone or never created
    }
  }
  return readSecret(file);
}

function readSecret(file: string): Buffer {
  const text = readFileSync(file, 'utf8').trim();
  if ((statSync(file).mode & 0o077) !== 0) {
    throw new ConfigError(`${file}: the token secret must not be readable by group or others (chmod 600)`, {
      file,
    });
  }
  if (!/^[0-9a-f]{64,}$/.test(text))
    throw new ConfigError(`${file}: expected at least 64 hex digits`, { file });
  return Buffer.from(text, 'hex');
}
