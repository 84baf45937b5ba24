// Machine identity: canonical MACs and the facts a booting machine reports.
import { InvalidRequestError } from '../errors.ts';

/** Facts about a booting machine; every value already validated and canonical. */
export interface Facts {
  mac?: Mac;
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

/**
 * A canonical MAC (lower-case, colon-separated). Only the edges make one: `canonicalMac` on
 * what a client or operator sent, `storedMac` on what railyard itself stored canonical.
 */
export type Mac = string & { readonly __brand: 'Mac' };

const HEX12 = /^[0-9a-f]{12}$/;

/**
 * Canonical MAC: lower-case, colon-separated. Accepts `52:54:00:12:34:56`,
 * `52-54-00-12-34-56`, `5254.0012.3456`, `525400123456`. Throws on anything else.
 */
export function canonicalMac(input: string): Mac {
  const hex = input
    .trim()
    .toLowerCase()
    .replace(/[:\-.]/g, '');
  if (!HEX12.test(hex) || !/^[0-9a-f]{2}([:\-.]?[0-9a-f]{2,4})*$/.test(input.trim().toLowerCase())) {
    throw new InvalidRequestError(`not a MAC address: ${JSON.stringify(input)}`);
  }
  return hex.match(/../g)!.join(':') as Mac;
}

/**
 * A MAC railyard stored itself (a store row, an export it wrote): canonical already, since
 * every write took a `Mac`. Never for what a client or operator sent.
 */
export function storedMac(stored: string): Mac {
  return stored as Mac;
}

export function isMac(input: string): boolean {
  return macOrUndefined(input) !== undefined;
}

/** The canonical MAC, or undefined when `input` is absent or not a MAC (never throws). */
export function macOrUndefined(input: string | undefined): Mac | undefined {
  if (input === undefined) return undefined;
  try {
    return canonicalMac(input);
  } catch {
    return undefined;
  }
}

/** Fact values go into iPXE scripts and file names: keep them to a safe, printable set. */
const SAFE_VALUE = /^[A-Za-z0-9][A-Za-z0-9._:@+=,/-]{0,127}$/;
const LABEL_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
/** RFC 1123 host name: dot-separated labels of 1-63 letters, digits, hyphens (not at either end). */
export const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const RESERVED = new Set(['mac', 'uuid', 'hostname', 'serial', 'arch', 'platform']);
/** Labels (parameters other than the reserved facts) one request may carry. */
export const MAX_LABELS = 32;

/**
 * Parse facts from an `/ipxe` query string (`c.req.queries()`: every value of each
 * parameter). Empty values (iPXE sends `uuid=` when it has none) are dropped; anything else
 * out of bounds is refused with a message naming the parameter and the rule, never passed on.
 */
export function factsFromQuery(query: Record<string, string | readonly string[]>): Facts {
  const facts: Facts = {};
  let labels = 0;
  for (const [key, given] of Object.entries(query)) {
    const values = typeof given === 'string' ? [given] : given;
    if (values.length > 1)
      throw new InvalidRequestError(
        `parameter ${JSON.stringify(key)} given ${values.length} times: expected once`,
      );
    const value = (values[0] ?? '').trim();
    if (value === '') continue;
    if (!RESERVED.has(key) && !LABEL_NAME.test(key)) {
      throw new InvalidRequestError(
        `invalid label name ${JSON.stringify(key.slice(0, 64))}: expected ${LABEL_NAME.source} (lower-case letters, digits, - or _, at most 32)`,
      );
    }
    if (!RESERVED.has(key) && ++labels > MAX_LABELS)
      throw new InvalidRequestError(
        `too many labels: at most ${MAX_LABELS} parameters besides ${[...RESERVED].join(', ')}`,
      );
    facts[key] = factValue(key, value);
  }
  return facts;
}

function factValue(key: string, value: string): string {
  if (key === 'mac') return canonicalMac(value);
  const shown = JSON.stringify(value.slice(0, 140));
  if (key === 'hostname') {
    if (!HOSTNAME.test(value))
      throw new InvalidRequestError(
        `invalid value for hostname: ${shown} (expected an RFC 1123 host name: labels of letters, digits and inner hyphens, at most 63 each, 253 in all)`,
      );
    return value;
  }
  if (!SAFE_VALUE.test(value)) {
    throw new InvalidRequestError(
      `invalid value for ${key}: ${shown} (expected 1-128 characters: letters, digits and ._:@+=,/-, starting with a letter or digit)`,
    );
  }
  return key === 'uuid' ? value.toLowerCase() : value;
}
