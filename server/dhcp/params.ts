// Validated inputs of the DHCP config generators. Everything a generator prints comes from
// a DhcpParams, and parseDhcpParams admits only values that cannot inject config syntax into
// any flavour (no newlines, quotes, commas, braces or spaces), so renderers never re-check.
import { InvalidRequestError } from '../errors.ts';
import {
  broadcastOf,
  formatIpv4,
  isUnusableServer,
  maskFromPrefix,
  networkOf,
  parseIpv4,
  prefixLength,
} from './ipv4.ts';

export const EFI_BINARIES = ['ipxe.efi', 'snponly.efi'] as const;
export type EfiBinary = (typeof EFI_BINARIES)[number];

/** Default TFTP path of the arm64 UEFI iPXE binary, relative to tftp.root. */
export const ARM64_BINARY = 'arm64/snponly.efi';

export interface Subnet {
  network: string;
  netmask: string;
  prefix: number;
  /** First and last address handed out (full DHCP); proxy mode uses only the network. */
  start: string;
  end: string;
}

export interface DhcpParams {
  /** Interface the DHCP server listens on; null: the flavour's default (all interfaces). */
  interface: string | null;
  subnet: Subnet;
  /** IPv4 address of railyard's TFTP server (next-server / siaddr). */
  serverIp: string;
  /** HTTP URL of the boot script, handed to iPXE clients. */
  bootUrl: string;
  efiBinary: EfiBinary;
  /** TFTP path of the arm64 UEFI binary; null: arm64 clients get no boot file. */
  arm64Binary: string | null;
}

export interface DhcpInput {
  interface?: string | undefined;
  range?: string | undefined;
  serverIp?: string | undefined;
  publicUrl: string;
  efiBinary?: string | undefined;
  arm64Binary: string | null;
}

const INTERFACE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
// Host (name, IPv4 or bracketed IPv6), optional port, path of URL-safe characters only.
const SAFE_URL = /^https?:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?(\/[A-Za-z0-9._~%/+=&@!$:-]*)?$/;
// The BOOTP `file` field holds 128 bytes including the terminating NUL.
const MAX_BOOT_FILE = 127;
const DEFAULT_NETMASK = '255.255.255.0';

export function parseDhcpParams(input: DhcpInput): DhcpParams {
  return {
    interface: parseInterface(input.interface),
    subnet: parseRange(input.range),
    serverIp: parseServerIp(input.serverIp, input.publicUrl),
    bootUrl: parseBootUrl(input.publicUrl),
    efiBinary: parseEfiBinary(input.efiBinary),
    arm64Binary: input.arm64Binary,
  };
}

function fail(flag: string, value: string, expected: string): never {
  throw new InvalidRequestError(`${flag} ${JSON.stringify(value)}: ${expected}`);
}

function parseInterface(value: string | undefined): string | null {
  if (value === undefined) return null;
  if (!INTERFACE.test(value)) {
    fail('--interface', value, "expected a network interface name: 1-15 letters, digits, '.', '_' or '-'");
  }
  return value;
}

export function parseRange(value: string | undefined): Subnet {
  if (value === undefined) fail('--range', '', 'required: START,END[,NETMASK], e.g. 10.0.0.100,10.0.0.199');
  const parts = value.split(',');
  if (parts.length < 2 || parts.length > 3) {
    fail('--range', value, 'expected START,END[,NETMASK], e.g. 10.0.0.100,10.0.0.199,255.255.255.0');
  }
  const [startText, endText, maskText = DEFAULT_NETMASK] = parts as [string, string, string?];
  const start = parseIpv4(startText) ?? fail('--range', value, `START ${startText} is not an IPv4 address`);
  const end = parseIpv4(endText) ?? fail('--range', value, `END ${endText} is not an IPv4 address`);
  const mask = parseNetmask(value, maskText);
  const prefix = prefixLength(mask) as number;
  const network = networkOf(start, mask);
  const cidr = `${formatIpv4(network)}/${prefix}`;
  if (end < start) fail('--range', value, `END ${endText} comes before START ${startText}`);
  if (networkOf(end, mask) !== network) {
    fail('--range', value, `START and END must be in one network, but END ${endText} is outside ${cidr}`);
  }
  if (start === network || end === broadcastOf(start, mask)) {
    fail('--range', value, `the range must not include the network or broadcast address of ${cidr}`);
  }
  return { network: formatIpv4(network), netmask: formatIpv4(mask), prefix, start: startText, end: endText };
}

function parseNetmask(range: string, text: string): number {
  const asPrefix = /^\/?(\d{1,2})$/.exec(text);
  const bits = asPrefix ? Number(asPrefix[1]) : null;
  const mask = bits === null ? parseIpv4(text) : bits <= 32 ? maskFromPrefix(bits) : null;
  const prefix = mask === null ? null : prefixLength(mask);
  if (prefix === null || prefix < 8 || prefix > 30) {
    fail(
      '--range',
      range,
      `NETMASK ${text}: expected a netmask such as 255.255.255.0 or a prefix length 8-30`,
    );
  }
  return mask as number;
}

/** --server-ip when given, else the host of publicUrl, which must then be an IPv4 address. */
function parseServerIp(value: string | undefined, publicUrl: string): string {
  const [flag, shown, text] =
    value === undefined ? ['publicUrl', publicUrl, hostOf(publicUrl)] : ['--server-ip', value, value];
  const address = parseIpv4(text);
  if (address === null && value === undefined) {
    fail(flag, shown, `its host ${JSON.stringify(text)} is not an IPv4 address; pass --server-ip`);
  }
  if (address === null)
    fail(flag, shown, "expected the IPv4 address of railyard's TFTP server, e.g. 10.0.0.5");
  if (isUnusableServer(address)) {
    fail(flag, shown, `${text} is not an address PXE clients can reach (loopback, unspecified or multicast)`);
  }
  return text;
}

function hostOf(url: string): string {
  const m = /^https?:\/\/(\[[^\]]*\]|[^/:]*)/.exec(url);
  return m ? (m[1] as string) : url;
}

function parseBootUrl(publicUrl: string): string {
  const expected = 'expected an http(s) URL of URL-safe characters (no quotes, commas, spaces or newlines)';
  if (!SAFE_URL.test(publicUrl)) fail('publicUrl', publicUrl, expected);
  const host = hostOf(publicUrl);
  const address = parseIpv4(host);
  if (host === 'localhost' || (address !== null && isUnusableServer(address))) {
    fail('publicUrl', publicUrl, `PXE clients cannot reach ${host}; set publicUrl or pass --public-url`);
  }
  const bootUrl = `${publicUrl.replace(/\/+$/, '')}/boot.ipxe`;
  if (bootUrl.length > MAX_BOOT_FILE) {
    fail(
      'publicUrl',
      publicUrl,
      `${bootUrl} is longer than the ${MAX_BOOT_FILE} bytes of the DHCP boot file field`,
    );
  }
  return bootUrl;
}

function parseEfiBinary(value: string | undefined): EfiBinary {
  if (value === undefined) return 'ipxe.efi';
  const found = EFI_BINARIES.find((b) => b === value);
  return found ?? fail('--efi-binary', value, `expected one of ${EFI_BINARIES.join(', ')}`);
}
