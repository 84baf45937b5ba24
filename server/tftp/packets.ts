// TFTP wire format (RFC 1350 + RFC 2347 OACK): decode every datagram once, at the edge, into
// a typed packet; encode the few packets a read-only server sends. Decoding never throws:
// junk comes back as `undefined` (ignore it) or `invalid` (a request we could not parse).

export const Opcode = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

export const ErrorCode = {
  UNDEFINED: 0,
  NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;

export interface RequestPacket {
  op: 'rrq' | 'wrq';
  filename: string;
  /** Lower-cased. */
  mode: string;
  /** Option names lower-cased; the first occurrence of a name wins. */
  options: Map<string, string>;
}

export type Packet =
  | RequestPacket
  | { op: 'data'; block: number; data: Buffer }
  | { op: 'ack'; block: number }
  | { op: 'error'; code: number; message: string }
  | { op: 'oack' }
  /** An RRQ/WRQ we could not parse (unterminated strings and the like). */
  | { op: 'invalid'; reason: string };

/** Datagrams shorter than 4 bytes and unknown opcodes decode to `undefined`: ignore them. */
export function decodePacket(buf: Buffer): Packet | undefined {
  if (buf.length < 4) return undefined;
  const opcode = buf.readUInt16BE(0);
  switch (opcode) {
    case Opcode.RRQ:
    case Opcode.WRQ:
      return decodeRequest(opcode === Opcode.RRQ ? 'rrq' : 'wrq', buf);
    case Opcode.DATA:
      return { op: 'data', block: buf.readUInt16BE(2), data: buf.subarray(4) };
    case Opcode.ACK:
      return { op: 'ack', block: buf.readUInt16BE(2) };
    case Opcode.ERROR:
      return { op: 'error', code: buf.readUInt16BE(2), message: cString(buf, 4)?.value ?? '' };
    case Opcode.OACK:
      return { op: 'oack' };
    default:
      return undefined;
  }
}

function decodeRequest(op: 'rrq' | 'wrq', buf: Buffer): Packet {
  const filename = cString(buf, 2);
  if (!filename) return { op: 'invalid', reason: 'file name not NUL-terminated' };
  if (filename.value === '') return { op: 'invalid', reason: 'empty file name' };
  const mode = cString(buf, filename.next);
  if (!mode) return { op: 'invalid', reason: 'mode not NUL-terminated' };
  const options = new Map<string, string>();
  let at = mode.next;
  // RFC 2347: name/value pairs follow; an incomplete trailing pair is ignored.
  for (;;) {
    const name = cString(buf, at);
    const value = name && cString(buf, name.next);
    if (!name || !value) break;
    const key = name.value.toLowerCase();
    if (key !== '' && !options.has(key)) options.set(key, value.value);
    at = value.next;
  }
  return { op, filename: filename.value, mode: mode.value.toLowerCase(), options };
}

/** The NUL-terminated string at `start`, or undefined when no NUL follows. */
function cString(buf: Buffer, start: number): { value: string; next: number } | undefined {
  if (start >= buf.length) return undefined;
  const end = buf.indexOf(0, start);
  if (end < 0) return undefined;
  return { value: buf.toString('utf8', start, end), next: end + 1 };
}

/** A DATA packet with room for `length` payload bytes at offset 4 (filled by the caller). */
export function allocData(block: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(4 + length);
  buf.writeUInt16BE(Opcode.DATA, 0);
  buf.writeUInt16BE(block & 0xffff, 2);
  return buf;
}

export function encodeAck(block: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt16BE(Opcode.ACK, 0);
  buf.writeUInt16BE(block & 0xffff, 2);
  return buf;
}

export function encodeError(code: number, message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const buf = Buffer.alloc(4 + text.length + 1);
  buf.writeUInt16BE(Opcode.ERROR, 0);
  buf.writeUInt16BE(code, 2);
  text.copy(buf, 4);
  return buf;
}

export function encodeOack(options: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts = [Buffer.from([0, Opcode.OACK])];
  for (const [name, value] of options) parts.push(Buffer.from(`${name}\0${value}\0`, 'utf8'));
  return Buffer.concat(parts);
}

/** Requests as clients send them; used by tests and probes. */
export function encodeRequest(
  op: 'rrq' | 'wrq',
  filename: string,
  mode = 'octet',
  options: Record<string, string> = {},
): Buffer {
  const fields = [filename, mode, ...Object.entries(options).flat()];
  return Buffer.concat([
    Buffer.from([0, op === 'rrq' ? Opcode.RRQ : Opcode.WRQ]),
    Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8'),
  ]);
}
