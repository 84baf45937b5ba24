// IPv4 addresses and netmasks as unsigned 32-bit numbers. Parsing is strict: dotted-quad
// decimal only, no leading zeros (which some parsers read as octal), no shorthand forms.

const DOTTED = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** The address as a number, or null when `text` is not a dotted-quad IPv4 address. */
export function parseIpv4(text: string): number | null {
  const m = DOTTED.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Prefix length of a contiguous netmask (255.255.255.0 → 24), or null when not contiguous. */
export function prefixLength(mask: number): number | null {
  for (let prefix = 0; prefix <= 32; prefix++) {
    if (maskFromPrefix(prefix) === mask) return prefix;
  }
  return null;
}

export function maskFromPrefix(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff - (2 ** (32 - prefix) - 1)) >>> 0;
}

export function networkOf(address: number, mask: number): number {
  return (address & mask) >>> 0;
}

export function broadcastOf(address: number, mask: number): number {
  return (networkOf(address, mask) | (~mask >>> 0)) >>> 0;
}

/** 127.0.0.0/8, 0.0.0.0/8, multicast and above: never a boot server PXE clients can reach. */
export function isUnusableServer(address: number): boolean {
  const first = Math.floor(address / 2 ** 24);
  return first === 0 || first === 127 || first >= 224;
}
