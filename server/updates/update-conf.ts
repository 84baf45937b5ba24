// Point the installed system's update_engine at railyard: the profile's `updates.server`
// becomes /etc/flatcar/update.conf in the rendered Ignition (update_engine reads SERVER and
// GROUP there before /usr/share/flatcar/update.conf: omaha_request_params.cc GetConfValue).
// railyard: SERVER=<publicUrl>/v1/update/ + GROUP=<channel>; public: GROUP only (Flatcar's
// server); none: SERVER=disabled (what flatcar-update -A writes). No `updates` key: nothing.
import { ConfigError } from '../errors.ts';
import type { ProfileUpdates } from '../machines/updates.ts';

export const UPDATE_CONF = '/etc/flatcar/update.conf';

export function updateConf(updates: ProfileUpdates, channel: string, publicUrl: string): string {
  const group = `GROUP=${updates.channel ?? channel}\n`;
  switch (updates.server) {
    case 'railyard':
      return `SERVER=${publicUrl}/v1/update/\n${group}`;
    case 'public':
      return group;
    case 'none':
      return 'SERVER=disabled\n';
  }
}

/** Add update.conf to a rendered target config; a template that writes it itself is refused. */
export function withUpdateConf(
  config: Record<string, unknown>,
  updates: ProfileUpdates | undefined,
  channel: string,
  publicUrl: string,
): Record<string, unknown> {
  if (!updates) return config;
  const storage = (config['storage'] ?? {}) as Record<string, unknown>;
  const files = Array.isArray(storage['files']) ? [...(storage['files'] as unknown[])] : [];
  if (files.some((f) => (f as Record<string, unknown>)?.['path'] === UPDATE_CONF))
    throw new ConfigError(
      `ignition template: ${UPDATE_CONF} is railyard's when the profile has updates; remove it from the template`,
      { key: 'ignition' },
    );
  const text = updateConf(updates, channel, publicUrl);
  files.push({
    path: UPDATE_CONF,
    mode: 0o644,
    overwrite: true,
    contents: { source: `data:;base64,${Buffer.from(text).toString('base64')}` },
  });
  return { ...config, storage: { ...storage, files } };
}
