// GET /installer/<mac>.cpio.gz: the per-machine installer initrd (usr/share/oem/config.ign),
// cached per inputs, with a strong ETag and Content-Length.
import type { Hono } from 'hono';
import type { BootService } from '../boot/service.ts';
import { NotFoundError } from '../errors.ts';
import type { InstallerCache } from '../installer/cache.ts';
import { type KexecDenyEntry, planHandoff } from '../installer/handoff-plan.ts';
import { reportUrl } from '../installer/script.ts';
import type { MachineTokens } from '../installer/tokens.ts';
import { canonicalMac } from '../machines/identity.ts';
import type { AppEnv } from './app.ts';

export interface InstallerRouteDeps {
  boot: BootService;
  cache: InstallerCache;
  tokens: MachineTokens;
  publicUrl: string;
  /** Armored keyring text when the mirror's keyring is not the stock Flatcar key. */
  keyring: string | undefined;
  /** installer.kexecDeny: hardware that reboots instead of kexec'ing. */
  kexecDeny: readonly KexecDenyEntry[];
  onServed?: (mac: string, bytes: number, durationMs: number) => void;
}

export function installerRoutes(app: Hono<AppEnv>, deps: InstallerRouteDeps): void {
  app.on(['GET', 'HEAD'], '/installer/:file{[^/]+\\.cpio\\.gz}', async (c) => {
    const started = performance.now();
    const mac = canonicalMac(c.req.param('file').replace(/\.cpio\.gz$/, ''));
    c.set('mac', mac);
    const inputs = await deps.boot.installerInputs(mac);
    if (!inputs)
      throw new NotFoundError(`no installer for ${mac}: it has not asked /ipxe for an install script`);
    const { facts, ...installer } = inputs;
    const artifact = await deps.cache.get({
      ...installer,
      handoff: planHandoff(inputs.profile, facts, deps.kexecDeny),
      version: inputs.view.version,
      token: deps.tokens.tokenFor(mac),
      reportUrl: reportUrl(deps.publicUrl, mac),
      keyring: deps.keyring,
    });
    const headers = {
      'Content-Type': 'application/gzip',
      'Content-Length': String(artifact.body.length),
      ETag: artifact.etag,
      'Cache-Control': 'no-store',
    };
    if (
      c.req
        .header('if-none-match')
        ?.split(',')
        .some((t) => t.trim() === artifact.etag)
    ) {
      return c.body(null, 304, headers);
    }
    if (c.req.method === 'HEAD') return c.body(null, 200, headers);
    deps.onServed?.(mac, artifact.body.length, performance.now() - started);
    return c.body(new Uint8Array(artifact.body), 200, headers);
  });
}
