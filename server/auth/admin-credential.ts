// The admin credential: `admin.token` when configured, else a token generated on the first
// start into `<dataDir>/admin-token` (0600, created atomically: a temp file linked into
// place, so two starting processes agree on one token). The token is never logged.
import { randomBytes } from 'node:crypto';
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
import { dirname, join } from 'node:path';
import { ConfigError, errorMessage } from '../errors.ts';

export const ADMIN_TOKEN_FILE = 'admin-token';
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface AdminCredential {
  token: string;
  /** Set when the token was generated (not configured): where it lives. */
  file?: string;
  /** True when this start created the file. */
  created: boolean;
}

export function adminCredential(configured: string | undefined, dataDir: string): AdminCredential {
  if (configured !== undefined) return { token: configured, created: false };
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  const created = createIfMissing(file);
  return { token: readToken(file), file, created };
}

function createIfMissing(file: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    statSync(file);
    return false;
  } catch {
    // not there yet: create it below
  }
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('base64url')}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new ConfigError(`${file}: cannot create the admin token: ${errorMessage(err)}`, {
      file,
      key: 'admin.token',
    });
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone or never created
    }
  }
}

function readToken(file: string): string {
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) {
      throw new ConfigError(`${file}: the admin token must not be readable by group or others (chmod 600)`, {
        file,
        key: 'admin.token',
      });
    }
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${file}: cannot read the admin token: ${errorMessage(err)}`, { file });
  }
  if (!TOKEN.test(text))
    throw new ConfigError(
      `${file}: expected 43 base64url characters (delete the file to generate a new token)`,
      {
        file,
      },
    );
  return text;
}
