// OpenPGP verification against a keyring whose primary key fingerprint is pinned. A
// signature passes only when made by a signing (sub)key bound to that primary and valid
// (not expired, not revoked) at the signature's creation time. Files are streamed from
// disk: memory stays flat whatever the size. openpgp itself (about 16 MiB resident) is
// loaded by the first SignatureVerifier.load(), so a server that does no mirror work never
// loads it.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type * as openpgp from 'openpgp';
import { ConfigError, VerificationError } from '../errors.ts';

type OpenPgp = typeof openpgp;
let loading: Promise<OpenPgp> | undefined;
const loadOpenPgp = (): Promise<OpenPgp> => (loading ??= import('openpgp'));

export interface Verified {
  /** Key ID (16 hex) of the subkey that made the signature. */
  signer: string;
}

export class SignatureVerifier {
  readonly key: openpgp.PublicKey;
  readonly #pgp: OpenPgp;

  private constructor(pgp: OpenPgp, key: openpgp.PublicKey) {
    this.#pgp = pgp;
    this.key = key;
  }

  /** Read the keyring and pick the pinned primary key. ConfigError if it is not there. */
  static async load(keyringPath: string, fingerprint: string): Promise<SignatureVerifier> {
    const pgp = await loadOpenPgp();
    const keys = await readKeyring(pgp, keyringPath);
    const key = keys.find((k) => k.getFingerprint().toUpperCase() === fingerprint);
    if (!key) {
      const found = keys.map((k) => k.getFingerprint().toUpperCase()).join(', ') || 'none';
      throw new ConfigError(
        `mirror.keyring ${keyringPath} holds no primary key with the pinned fingerprint ${fingerprint} (found: ${found})`,
        { key: 'mirror.fingerprint' },
      );
    }
    return new SignatureVerifier(pgp, key);
  }

  /** Verify a detached binary (or armored) signature over a file, streaming the file. */
  async verifyFile(file: string, sigFile: string): Promise<Verified> {
    const pgp = this.#pgp;
    const signature = await readSignatureFile(pgp, file, sigFile);
    const stream = Readable.toWeb(
      createReadStream(file, { highWaterMark: 1 << 20 }),
    ) as ReadableStream<Uint8Array>;
    const message = await pgp.createMessage({ binary: stream });
    const result = await pgp.verify({ message, signature, verificationKeys: this.key, format: 'binary' });
    await drain(result.data as ReadableStream<Uint8Array>);
    return this.#firstValid(basename(file), result.signatures);
  }

  /** Verify a clearsigned text (e.g. `F.DIGESTS.asc`); returns the signed text. */
  async verifyClearsigned(label: string, armored: string): Promise<Verified & { text: string }> {
    let message: openpgp.CleartextMessage;
    try {
      message = await this.#pgp.readCleartextMessage({ cleartextMessage: armored });
    } catch (err) {
      throw new VerificationError(`${label}: not a clearsigned OpenPGP message (${(err as Error).message})`);
    }
    const result = await this.#pgp.verify({ message, verificationKeys: this.key });
    return { ...(await this.#firstValid(label, result.signatures)), text: message.getText() };
  }

  async #firstValid(label: string, signatures: openpgp.VerifyMessageResult['signatures']): Promise<Verified> {
    if (signatures.length === 0) throw new VerificationError(`${label}: signature file holds no signature`);
    let reason = '';
    for (const s of signatures) {
      try {
        await s.verified;
        return { signer: s.keyID.toHex().toUpperCase() };
      } catch (err) {
        reason ||= explain(s.keyID.toHex().toUpperCase(), (err as Error).message, this.key);
      }
    }
    throw new VerificationError(`${label}: ${reason}`);
  }
}

function explain(keyId: string, message: string, key: openpgp.PublicKey): string {
  const pinned = key.getFingerprint().toUpperCase();
  if (/Could not find signing key/i.test(message)) {
    return `signed by unknown key ${keyId} (not the pinned key ${pinned} or one of its subkeys)`;
  }
  if (/digest did not match|verification failed/i.test(message)) {
    return `bad signature by ${keyId}: file altered, truncated or not the file that was signed`;
  }
  if (/expired|revoked|newer than the signature|creation time/i.test(message)) {
    return `signing key ${keyId} was not valid when the signature was made (${message})`;
  }
  return `signature by ${keyId} rejected: ${message}`;
}

async function readKeyring(pgp: OpenPgp, path: string): Promise<openpgp.PublicKey[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new ConfigError(`mirror.keyring ${path}: cannot read (${(err as NodeJS.ErrnoException).code})`, {
      key: 'mirror.keyring',
    });
  }
  try {
    const text = bytes.toString('latin1');
    return text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')
      ? await pgp.readKeys({ armoredKeys: text })
      : await pgp.readKeys({ binaryKeys: new Uint8Array(bytes) });
  } catch (err) {
    throw new ConfigError(`mirror.keyring ${path}: not an OpenPGP keyring (${(err as Error).message})`, {
      key: 'mirror.keyring',
    });
  }
}

async function readSignatureFile(pgp: OpenPgp, file: string, sigFile: string): Promise<openpgp.Signature> {
  const bytes = await readFile(sigFile);
  try {
    const text = bytes.subarray(0, 64).toString('latin1');
    return text.includes('-----BEGIN PGP SIGNATURE-----')
      ? await pgp.readSignature({ armoredSignature: bytes.toString('utf8') })
      : await pgp.readSignature({ binarySignature: new Uint8Array(bytes) });
  } catch (err) {
    throw new VerificationError(
      `${basename(file)}: unreadable signature ${basename(sigFile)} (${(err as Error).message})`,
    );
  }
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stream.getReader();
  while (!(await reader.read()).done) {
    // discard: the signature is computed as the data flows through
  }
}

/** Parse a Flatcar `.DIGESTS` file: the SHA-512 hex per file name. */
export function parseSha512Digests(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let section = '';
  for (const line of text.split(/\r?\n/)) {
    const header = /^#\s*(\S+)\s+HASH/i.exec(line);
    if (header) section = (header[1] as string).toUpperCase();
    const m = /^([0-9a-fA-F]{128})\s+\*?(\S+)$/.exec(line.trim());
    if (m && (section === 'SHA512' || section === ''))
      out.set(basename(m[2] as string), (m[1] as string).toLowerCase());
  }
  return out;
}

/** SHA-512 of a file, hex, streamed. */
export async function sha512File(path: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
