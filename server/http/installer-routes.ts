// GET /installer/<mac>.cpio.gz?attempt=N: the installer initrd of the machine's open
// install attempt (usr/share/oem/config.ign), rendered from the attempt alone, served only
// while it is open and not yet installed, by default only to the client IP that received
// its install script (installer.bindClientIp). Cached per inputs, strong ETag, Content-Length.
import type { Hono } from 'hono';
import type { BootService } from '../boot/service.ts';
import { InvalidRequestError } from '../errors.ts';
import type { InstallerCache } from '../installer/cache.ts';
import type { AttemptTokens } from '../installer/credentials.ts';
import { type KexecDenyEntry, planHandoff } from '../installer/handoff-plan.ts';
import { type DerivedImage, planImage } from '../installer/image-plan.ts';
import { claimUrl, reportUrl } from '../installer/script.ts';
import type { Mac } from '../machines/identity.ts';
import { canonicalMac } from '../machines/identity.ts';
import type { AppEnv } from './app.ts';
import { clientAddress } from './client.ts';

/** Derives an attempt's tokens from its stored nonce (installer/credentials.ts). */
export interface TokenSource {
  tokens(nonce: string): AttemptTokens;
}

export interface InstallerRouteDeps {
  boot: BootService;
  cache: InstallerCache;
  credentials: TokenSource;
  publicUrl: string;
  /** Armored keyring text when the mirror's keyring is not the stock Flatcar key. */
  keyring: string | undefined;
  /** installer.kexecDeny: hardware that reboots instead of kexec'ing. */
  kexecDeny: readonly KexecDenyEntry[];
  onServed?: (mac: Mac, bytes: number, durationMs: number, attemptId: number) => void;
  /** The mirror's derived fast-install files of a release, when ready (else installs use the .bz2). */
  derivedImage?: (channel: string, board: string, version: string) => Promise<DerivedImage | undefined>;
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
  app.on(['GET', 'HEAD'], '/installer/:file{[^/]+\\.cpio\\.gz}', async (c) => {
    const started = performance.now();
    const mac = canonicalMac(c.req.param('file').replace(/\.cpio\.gz$/, ''));
    c.set('mac', mac);
    const { attempt, view, profile, pool } = await deps.boot.attempts.installer(mac, {
      attemptId: attemptParam(c.req.query('attempt')),
      clientIp: clientAddress(c),
    });
    const tokens = deps.credentials.tokens(attempt.secrets.nonce);
    // The image path is planned from the attempt's release: its derived files, when ready.
    const derived = await deps.derivedImage?.(profile.channel, profile.board, attempt.version);
    const artifact = await deps.cache.get({
      view,
      profile,
      // decided from the attempt's pinned profile and facts, like everything else it serves
      handoff: planHandoff(profile, { ...attempt.facts, mac }, deps.kexecDeny),
      image: planImage(profile, derived, `${view.mirrorBase}/${attempt.version}`),
      version: attempt.version,
      attemptId: attempt.id,
      token: tokens.install,
      firstBootToken: tokens.firstBoot,
      reportUrl: reportUrl(deps.publicUrl, mac, attempt.id),
      keyring: deps.keyring,
      pool: pool ? { claimUrl: claimUrl(deps.publicUrl, mac) } : undefined,
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
    c.set('attempt', attempt.id);
    deps.onServed?.(mac, artifact.body.length, performance.now() - started, attempt.id);
    return c.body(new Uint8Array(artifact.body), 200, headers);
  });
}
