// The installed system's Ignition config: the profile's template rendered for one machine,
// plus railyard's first-boot report unit when the profile has `phoneHome`. Strings are
// rendered one by one and the object serialized afterwards, so no value can break the JSON.
import { ConfigError } from '../errors.ts';
import { missingNames, render } from '../render/template.ts';

export const FIRST_BOOT_UNIT = 'railyard-first-boot.service';
/** Where Flatcar keeps the installed config (OEM partition; `/oem` before the /usr/share/oem move). */
const CONFIG_PATHS = ['/usr/share/oem/config.ign', '/oem/config.ign'];
const STAMP = '/var/lib/railyard/first-boot-reported';

export function renderTarget(
  template: Record<string, unknown>,
  view: Record<string, unknown>,
  firstBoot?: { reportUrl: string; token: string },
): Record<string, unknown> {
  const config = renderStrings(template, view, '') as Record<string, unknown>;
  const ignition = (config['ignition'] ?? {}) as Record<string, unknown>;
  config['ignition'] = { ...ignition, version: ignition['version'] ?? '3.3.0' };
  if (firstBoot)
    addUnit(config, {
      name: FIRST_BOOT_UNIT,
      enabled: true,
      contents: firstBootUnit(firstBoot.reportUrl, firstBoot.token),
    });
  return config;
}

function renderStrings(node: unknown, view: Record<string, unknown>, path: string): unknown {
  if (typeof node === 'string') {
    const missing = missingNames(node, view);
    if (missing.length > 0)
      throw new ConfigError(
        `ignition template ${path || '(root)'}: unknown variables ${missing.join(', ')}`,
        { key: 'ignition' },
      );
    return render(node, view);
  }
  if (Array.isArray(node)) return node.map((v, i) => renderStrings(v, view, `${path}[${i}]`));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, renderStrings(v, view, path ? `${path}.${k}` : k)]),
    );
  }
  return node;
}

function addUnit(
  config: Record<string, unknown>,
  unit: { name: string; enabled: boolean; contents: string },
): void {
  const systemd = (config['systemd'] ?? {}) as Record<string, unknown>;
  const units = Array.isArray(systemd['units']) ? [...(systemd['units'] as unknown[])] : [];
  if (units.some((u) => (u as Record<string, unknown>)?.['name'] === unit.name)) {
    throw new ConfigError(
      `ignition template: systemd unit ${unit.name} is railyard's; remove it or set phoneHome: false`,
      { key: 'ignition' },
    );
  }
  config['systemd'] = { ...systemd, units: [...units, unit] };
}

/**
 * The `first-boot` report's fields after `type`, one row each: `setup` (shell, run in
 * order) leaves the value in `$variable`. A value must need no JSON escaping (hex, ids).
 */
export interface FirstBootField {
  name: string;
  variable: string;
  setup: string[];
}

export const FIRST_BOOT_FIELDS: readonly FirstBootField[] = [
  {
    name: 'ignitionSha256',
    variable: 'sum',
    setup: [
      `f=; for c in ${CONFIG_PATHS.join(' ')}; do if [ -r "$c" ]; then f=$c; break; fi; done`,
      'sum=; if [ -n "$f" ]; then sum=$(sha256sum "$f" | cut -d " " -f 1); fi',
    ],
  },
  {
    // The installed system's /etc/machine-id: its Omaha machineid (docs/updates.md).
    name: 'machineId',
    variable: 'mid',
    setup: ['mid=$(tr -dc 0-9a-f < /etc/machine-id 2>/dev/null | cut -c 1-32)'],
  },
];

/**
 * A oneshot unit that posts `first-boot` once (stamp file), best effort: curl retries
 * briefly and never fails the unit. Its ExecStart is self-contained (a stand-in image can
 * run the same line) and free of backslashes, so it means the same under systemd's
 * unquoting and under a plain `bash -c` of the line after `$$`→`$`: the JSON's quotes come
 * from base64-decoded constants. `reportUrl` and `token` (the attempt's first-boot
 * credential) must not need quoting.
 */
export function firstBootUnit(
  reportUrl: string,
  token: string,
  fields: readonly FirstBootField[] = FIRST_BOOT_FIELDS,
): string {
  if (!/^[A-Za-z0-9._~%/:@+=,[\]-]+$/.test(reportUrl + token))
    throw new ConfigError('first-boot unit: unsafe report URL or token');
  const b64 = (text: string) => `$(echo ${Buffer.from(text).toString('base64')} | base64 -d)`;
  const body = [
    b64('{"type":"first-boot"'),
    ...fields.map((f) => `${b64(`,"${f.name}":"`)}$${f.variable}${b64('"')}`),
    b64('}'),
  ].join('');
  const sh = [
    ...fields.flatMap((f) => f.setup),
    `body=${body}`,
    'curl -fsS --retry 10 --retry-delay 3 --retry-connrefused --max-time 10 -X POST -H "Content-Type: application/json"' +
      ` -H "Authorization: Bearer ${token}" --data-binary "$body" "${reportUrl}" || true`,
    `mkdir -p ${STAMP.replace(/\/[^/]+$/, '')} && touch ${STAMP}`,
  ].join('; ');
  return [
    '[Unit]',
    'Description=Report the first boot to railyard',
    'Wants=network-online.target',
    'After=network-online.target',
    `ConditionPathExists=!${STAMP}`,
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=/bin/sh -c ${systemdSingleQuoted(sh)}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** One systemd command-line word in single quotes, $ and % escaped (no quote, backslash or newline inside). */
function systemdSingleQuoted(s: string): string {
  if (/['\\\n]/.test(s)) throw new Error('systemdSingleQuoted: quote, backslash or newline in command');
  return `'${s.replaceAll('$', '$$$$').replaceAll('%', '%%')}'`;
}
