// Entry point of the DHCP config generators: one pure function per flavour, chosen by name.
import { InvalidRequestError } from '../errors.ts';
import { renderDnsmasq } from './dnsmasq.ts';
import { renderIsc } from './isc.ts';
import { renderKea } from './kea.ts';
import type { DhcpParams } from './params.ts';

export const FLAVORS = ['dnsmasq', 'dnsmasq-proxy', 'isc', 'kea'] as const;
export type Flavor = (typeof FLAVORS)[number];

const RENDERERS: Record<Flavor, (params: DhcpParams) => string> = {
  dnsmasq: (p) => renderDnsmasq(p, 'full'),
  'dnsmasq-proxy': (p) => renderDnsmasq(p, 'proxy'),
  isc: renderIsc,
  kea: renderKea,
};

export function parseFlavor(value: string | undefined): Flavor {
  const found = FLAVORS.find((f) => f === value);
  if (found) return found;
  const what = value === undefined ? 'required' : `${JSON.stringify(value)} is not a known flavour`;
  throw new InvalidRequestError(`--flavor ${what}: expected one of ${FLAVORS.join(', ')}`);
}

export function generateDhcpConfig(flavor: Flavor, params: DhcpParams): string {
  return RENDERERS[flavor](params);
}
