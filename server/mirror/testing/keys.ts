// Test-only OpenPGP keys, generated at test time: a primary key plus a separate signing
// subkey, like Flatcar's image signing key. Never used outside tests.
import * as openpgp from 'openpgp';

export interface TestKey {
  privateKey: openpgp.PrivateKey;
  armoredPublic: string;
  /** Primary fingerprint, 40 upper-hex. */
  fingerprint: string;
  /** Key ID of the signing subkey, 16 upper-hex. */
  signingKeyId: string;
}

export interface KeyOptions {
  name?: string;
  /** Key creation time (default now). */
  created?: Date;
  /** Signing subkey lifetime in seconds (default: never expires). */
  subkeyLifetime?: number;
}

export async function generateTestKey(options: KeyOptions = {}): Promise<TestKey> {
  const subkey = options.subkeyLifetime
    ? { sign: true, keyExpirationTime: options.subkeyLifetime }
    : { sign: true };
  const { privateKey } = await openpgp.generateKey({
    type: 'curve25519',
    userIDs: [{ name: options.name ?? 'railyard test signing', email: 'test@railyard.invalid' }],
    subkeys: [subkey],
    format: 'object',
    ...(options.created ? { date: options.created } : {}),
  });
  const signing = privateKey.subkeys[0];
  if (!signing) throw new Error('generated key has no subkey');
  return {
    privateKey,
    armoredPublic: privateKey.toPublic().armor(),
    fingerprint: privateKey.getFingerprint().toUpperCase(),
    signingKeyId: signing.getKeyID().toHex().toUpperCase(),
  };
}

/** A detached binary signature made by the signing subkey, as `openpgp.sign` would. */
export async function signDetached(key: TestKey, data: Uint8Array): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: data });
  return openpgp.sign({ message, signingKeys: key.privateKey, detached: true, format: 'binary' });
}

/**
 * A detached signature made by the signing subkey at `date`, bypassing openpgp's check
 * that the key is valid then: used to forge "signed after the subkey expired".
 */
export async function signDetachedAt(key: TestKey, data: Uint8Array, date: Date): Promise<Uint8Array> {
  const subkey = key.privateKey.subkeys[0];
  if (!subkey) throw new Error('no subkey');
  const packet = subkey.keyPacket as openpgp.SecretSubkeyPacket;
  const sig = new openpgp.SignaturePacket();
  sig.signatureType = openpgp.enums.signature.binary;
  sig.publicKeyAlgorithm = packet.algorithm;
  sig.hashAlgorithm = openpgp.enums.hash.sha512;
  const literal = new openpgp.LiteralDataPacket();
  // setBytes is public in openpgp's JS API but marked private in its typings.
  (literal as unknown as { setBytes(b: Uint8Array, f: unknown): void }).setBytes(
    data,
    openpgp.enums.literal.binary,
  );
  await (sig.sign as (...args: unknown[]) => Promise<void>)(packet, literal, date, true, openpgp.config);
  const list = new openpgp.PacketList<openpgp.SignaturePacket>();
  list.push(sig);
  return new openpgp.Signature(list).write() as Uint8Array;
}

export async function clearsign(key: TestKey, text: string): Promise<string> {
  const message = await openpgp.createCleartextMessage({ text });
  return openpgp.sign({ message, signingKeys: key.privateKey });
}
