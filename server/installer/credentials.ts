// Per-attempt credentials. Each attempt gets a random nonce; with the server secret
// (`<dataDir>/secret`) it derives two tokens, base64url(HMAC-SHA256(secret, kind + nonce)):
// the install token (the installer's reports) and the first-boot token (the installed
// system's one `first-boot` report). The store keeps only the nonce and SHA-256 hashes of
// the tokens, so a copy of state.db alone reports nothing; railyard can still render the
// same installer again (a retried download) without storing a token. Tokens are compared
// hash against hash with timingSafeEqual, and never logged.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError } from '../errors.ts';
import type { Credential } from '../machines/report-rules.ts';
import type { AttemptSecrets } from '../store/state-store.ts';
import { loadOrCreateSecret, TOKEN_PATTERN } from './tokens.ts';

const SECRET_BYTES = 32;
/** 128 random bits per attempt; the tokens themselves are 256-bit HMACs. */
const NONCE_BYTES = 16;

export interface AttemptTokens {
  install: string;
  firstBoot: string;
}

export class AttemptCredentials {
  readonly #secret: Buffer;

  constructor(secret: Buffer) {
    if (secret.length < SECRET_BYTES)
      throw new ConfigError(`token secret too short: ${secret.length} bytes, need ${SECRET_BYTES}`);
    this.#secret = Buffer.from(secret);
  }

  /**
   * A store shared by several instances keeps the secret (every instance derives the same
   * tokens); otherwise `<dataDir>/secret`.
   */
  static async load(
    store: { tokenSecret?(): Promise<Buffer> },
    dataDir: string,
  ): Promise<AttemptCredentials> {
    return store.tokenSecret
      ? new AttemptCredentials(await store.tokenSecret())
      : AttemptCredentials.open(dataDir);
  }

  /** Load `<dataDir>/secret`, creating it (0600) on first start. */
  static open(dataDir: string): AttemptCredentials {
    return new AttemptCredentials(loadOrCreateSecret(join(dataDir, 'secret')));
  }

  /** Fresh credential material for a new attempt: what the store keeps. */
  issue(): AttemptSecrets {
    const nonce = randomBytes(NONCE_BYTES).toString('base64url');
    const tokens = this.tokens(nonce);
    return {
      nonce,
      installTokenHash: hashToken(tokens.install),
      firstBootTokenHash: hashToken(tokens.firstBoot),
    };
  }

  /** The attempt's tokens (for rendering its installer); `nonce` from the stored attempt. */
  tokens(nonce: string): AttemptTokens {
    return { install: this.#derive('install', nonce), firstBoot: this.#derive('first-boot', nonce) };
  }

  #derive(kind: Credential, nonce: string): string {
    return createHmac('sha256', this.#secret).update(`railyard-attempt:${kind}:${nonce}`).digest('base64url');
  }

  [inspect.custom](): string {
    return 'AttemptCredentials { secret: [hidden] }';
  }

  toJSON(): string {
    return '[AttemptCredentials]';
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Which of the attempt's credentials `presented` is: install, first-boot, or undefined
 * (missing, malformed or neither). Both hashes are always compared, in constant time.
 */
export function matchCredential(
  secrets: AttemptSecrets,
  presented: string | undefined,
): Credential | undefined {
  if (presented === undefined || !TOKEN_PATTERN.test(presented)) return undefined;
  const h = Buffer.from(hashToken(presented), 'hex');
  const install = timingSafeEqual(h, Buffer.from(secrets.installTokenHash, 'hex'));
  const firstBoot = timingSafeEqual(h, Buffer.from(secrets.firstBootTokenHash, 'hex'));
  return install ? 'install' : firstBoot ? 'first-boot' : undefined;
}
