// JSON API: machines, their attempts and timelines, installer reports (report-routes.ts),
// reprovision. Installer reports carry their attempt's token from its installer cpio and
// need no sign-in; other writes need the admin token; reads need a sign-in (ui-auth.ts
// requireApiRead, mounted in app.ts). Tokens are compared in constant time and never logged.
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AttemptSource } from '../boot/attempts.ts';
import { InvalidRequestError } from '../errors.ts';
import type { TokenSource } from '../installer/service.ts';
import { canonicalMac } from '../machines/identity.ts';
import { machineDetail, requestReprovision } from '../store/queries.ts';
import type { StateStore, StoredAttempt } from '../store/state-store.ts';
import type { AppEnv } from './app.ts';
import { reportRoutes } from './report-routes.ts';
import { type Access, requireAdmin } from './ui-auth.ts';

export interface ApiDeps {
  store: StateStore;
  /** Attempts' installer inputs (BootService.attempts), for the admin's view of an attempt. */
  attempts: AttemptSource;
  credentials: TokenSource;
  publicUrl: string;
  /** A claimed pool attempt's target Ignition (its claim's, pool/long-poll.ts); undefined: not one. */
  claimTarget?: (attempt: StoredAttempt) => Promise<string | undefined>;
  /** `GET /api/v1/mirror`: what is mirrored (versions, sizes, derived image files) and the last refresh. */
  mirror?: { list(): Promise<unknown> };
}

/** GET /api/v1/machines pages: `?limit=` (default and maximum) and `?offset=`. */
export const API_PAGE_MAX = 1000;

const MAX_BODY = 64 * 1024;

export function apiRoutes(app: Hono<AppEnv>, deps: ApiDeps, access: Access): void {
  const limit = bodyLimit({
    maxSize: MAX_BODY,
    onError: (c) => c.json({ error: `request body larger than ${MAX_BODY} bytes` }, 413),
  });

  app.get('/api/v1/machines', async (c) => {
    const limit = queryInt(c, 'limit', API_PAGE_MAX, 1, API_PAGE_MAX);
    const offset = queryInt(c, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const counts = await deps.store.fleet.countByState();
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const machines = await deps.store.fleet.machinePage({ offset, limit });
    return c.json({ machines, total, offset, limit });
  });

  const mirror = deps.mirror;
  if (mirror) app.get('/api/v1/mirror', async (c) => c.json(await mirror.list()));

  app.get('/api/v1/machines/:mac', async (c) =>
    c.json(await machineDetail(deps.store, canonicalMac(c.req.param('mac')))),
  );

  app.post('/api/v1/machines/:mac/reprovision', limit, async (c) => {
    requireAdmin(c, access, 'reprovision');
    const recorded = await requestReprovision(deps.store, canonicalMac(c.req.param('mac')));
    return c.json({ state: recorded.machine.state }, 202);
  });

  reportRoutes(app, deps, access);
}

/** An integer query parameter in [min, max]; absent: `fallback`; anything else is a 400. */
export function queryInt(c: Context, name: string, fallback: number, min: number, max: number): number {
  const raw = c.req.query(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max)
    throw new InvalidRequestError(`?${name}= must be an integer from ${min} to ${max}`);
  return n;
}
