// Machine identity: canonical MACs and the facts a booting machine reports.
import { InvalidRequestError } from '../errors.ts';

/** Facts about a booting machine; every value already validated and canonical. */
export interface Facts {
  mac?: string;
  uuid?: string;
  hostname?: string;
  serial?: string;
  /** iPXE ${buildarch}: i386, x86_64, arm64 ... */
  arch?: string;
  /** iPXE ${platform}: pcbios, efi. */
  platform?: string;
  /** Any other label passed as a query parameter. */
  [label: string]: string | undefined;
}

const HEX12 = /^[0-9a-f]{12}$/;

/**
 * Canonical MAC: lower-case, colon-separated. Accepts `52:54:00:12:34:56`,
 * `52-54-00-12-34-56`, `5254.0012.3456`, `525400123456`. Throws on anything else.
 */
export function canonicalMac(input: string): string {
  const hex = input
    .trim()
    .toLowerCase()
    .replace(/[:\-.]/g, '');
  if (!HEX12.test(hex) || !/^[0-9a-f]{2}([:\-.]?[0-9a-f]{2,4})*$/.test(input.trim().toLowerCase())) {
    throw new InvalidRequestError(`not a MAC address: ${JSON.stringify(input)}`);
  }
  return hex.match(/../g)!.join(':');
}

export function isMac(input: string): boolean {
  try {
    canonicalMac(input);
    return true;
  } catch {
    return false;
  }
}

/** Fact values go into iPXE scripts and file names: keep them to a safe, printable set. */
const SAFE_VALUE = /^[A-Za-z0-9][A-Za-z0-9._:@+=,/-]{0,127}$/;
const LABEL_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const RESERVED = new Set(['mac', 'uuid', 'hostname', 'serial', 'arch', 'platform']);

/**
 * Parse facts from an `/ipxe` query string. Empty values (iPXE sends `uuid=` when it has
 * none) are dropped; unsafe values are refused, never passed on.
 */
export function factsFromQuery(query: Record<string, string>): Facts {
  const facts: Facts = {};
  for (const [key, raw] of Object.entries(query)) {
    const value = raw.trim();
    if (value === '') continue;
    if (!RESERVED.has(key) && !LABEL_NAME.test(key)) {
      throw new InvalidRequestError(
        `invalid label name ${JSON.stringify(key)}: expected lower-case letters, digits, - or _`,
      );
    }
    if (key === 'mac') {
      facts.mac = canonicalMac(value);
      continue;
    }
    if (!SAFE_VALUE.test(value)) {
      throw new InvalidRequestError(
        `invalid value for ${key}: ${JSON.stringify(value)} (letters, digits and ._:@+=,/- only)`,
      );
    }
    facts[key] = key === 'uuid' ? value.toLowerCase() : value;
  }
  return facts;
}
