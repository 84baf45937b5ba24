// GET /installer/<mac>.cpio.gz?attempt=N: the installer initrd of the machine's open
// install attempt (usr/share/oem/config.ign), rendered from the attempt alone, served only
// while it is open and not yet installed, by default only to the client IP that received
// its install script (installer.bindClientIp). Cached per inputs, strong ETag, Content-Length.
import type { Hono } from 'hono';
import type { BootService } from '../boot/service.ts';
import { InvalidRequestError } from '../errors.ts';
import { InstallerService, type InstallerServiceDeps } from '../installer/service.ts';
import type { Mac } from '../machines/identity.ts';
import { canonicalMac } from '../machines/identity.ts';
import type { AppEnv } from './app.ts';
import { clientAddress } from './client.ts';

export interface InstallerRouteDeps extends Omit<InstallerServiceDeps, 'attempts'> {
  boot: BootService;
  onServed?: (mac: Mac, bytes: number, durationMs: number, attemptId: number) => void;
}

/** `?attempt=N`: a positive integer, or absent. */
export function attemptParam(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw)))
    throw new InvalidRequestError(
      `invalid attempt ${JSON.stringify(raw.slice(0, 40))}: expected a positive integer`,
    );
  return Number(raw);
}

export function installerRoutes(app: Hono<AppEnv>, deps: InstallerRouteDeps): void {
  const installers = new InstallerService({ ...deps, attempts: deps.boot.attempts });
  app.on(['GET', 'HEAD'], '/installer/:file{[^/]+\\.cpio\\.gz}', async (c) => {
    const started = performance.now();
    const mac = canonicalMac(c.req.param('file').replace(/\.cpio\.gz$/, ''));
    c.set('mac', mac);
    const { attemptId, artifact } = await installers.installer(mac, {
      attemptId: attemptParam(c.req.query('attempt')),
      clientIp: clientAddress(c),
    });
    const headers = {
      'Content-Type': 'application/gzip',
      'Content-Length': String(artifact.body.length),
      ETag: artifact.etag,
      'Cache-Control': 'no-store',
    };
    const tags = c.req.header('if-none-match')?.split(',');
    c.set('bytes', 0);
    if (tags?.some((t) => t.trim() === artifact.etag)) return c.body(null, 304, headers);
    if (c.req.method === 'HEAD') return c.body(null, 200, headers);
    c.set('attempt', attemptId);
    c.set('bytes', artifact.body.length);
    deps.onServed?.(mac, artifact.body.length, performance.now() - started, attemptId);
    return c.body(artifact.body, 200, headers);
  });
}
