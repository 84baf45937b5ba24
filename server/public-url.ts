// publicUrl is checked once at startup by the code that will use it: the iPXE boot script,
// the installer script and the first-boot unit of the installed system's Ignition. A URL any
// of them would refuse (an underscore in the host, credentials, `..`) would otherwise pass
// the config schema and fail every install later, one machine at a time.
import { ConfigError, errorMessage, redactSecrets } from './errors.ts';
import { renderInstallScript, reportUrl } from './installer/script.ts';
import { firstBootUnit } from './installer/target.ts';
import { canonicalMac } from './machines/identity.ts';
import { IpxeRenderer } from './render/ipxe.ts';

const PROBE_MAC = canonicalMac('02:00:00:00:00:01');
const PROBE_ATTEMPT = 1;
const PROBE_TOKEN = 'A'.repeat(43);

export function checkPublicUrl(publicUrl: string): void {
  const refuse = (why: string): never => {
    const shown = redactSecrets(JSON.stringify(publicUrl));
    throw new ConfigError(`invalid configuration: publicUrl = ${shown}: ${why}`, { key: 'publicUrl' });
  };
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    url = refuse('not a valid URL');
  }
  if (url.username || url.password)
    refuse('credentials in the URL would be handed to every node; use a URL without user:password@');
  if (['0.0.0.0', '[::]'].includes(url.hostname))
    refuse('a wildcard address cannot be reached by nodes; name this host (its LAN address or DNS name)');
  const report = reportUrl(publicUrl, PROBE_MAC, PROBE_ATTEMPT);
  const users: Array<[string, () => unknown]> = [
    ['the iPXE boot script', () => new IpxeRenderer().boot(publicUrl)],
    [
      'the installer script',
      () =>
        renderInstallScript({
          mac: PROBE_MAC,
          attemptId: PROBE_ATTEMPT,
          reportUrl: report,
          token: PROBE_TOKEN,
          installDisk: 'smallest',
          mirrorBase: `${publicUrl}/mirror/stable/amd64-usr`,
          version: '1.0.0',
          keyring: false,
        }),
    ],
    ['the first-boot unit (Ignition)', () => firstBootUnit(report, PROBE_TOKEN)],
  ];
  for (const [user, use] of users) {
    try {
      use();
    } catch (err) {
      const rule = 'host names of letters, digits, "-" and ".", or an IP address; no ".." in the path';
      refuse(`${user} would refuse it (${redactSecrets(errorMessage(err))}): it needs ${rule}`);
    }
  }
}
