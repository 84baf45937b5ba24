// JSON API: machines, their timelines, installer reports, reprovision. Installer reports
// carry the per-machine token from the machine's installer cpio; other writes need the
// admin token; reads need a sign-in (ui-auth.ts requireApiRead, mounted in app.ts). Tokens
// are compared in constant time and never logged.
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { InvalidRequestError, UnauthorizedError } from '../errors.ts';
import { acceptReport } from '../installer/reports.ts';
import type { MachineTokens } from '../installer/tokens.ts';
import { machineDetail, requestReprovision } from '../store/queries.ts';
import type { StateStore } from '../store/state-store.ts';
import type { AppEnv } from './app.ts';
import { type Access, adminBearer } from './ui-auth.ts';

export interface ApiDeps {
  store: StateStore;
  tokens: MachineTokens;
}

/** GET /api/v1/machines pages: `?limit=` (default and maximum) and `?offset=`. */
export const API_PAGE_MAX = 1000;

const MAX_BODY = 64 * 1024;

async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequestError('request body is not valid JSON');
  }
}

export function apiRoutes(app: Hono<AppEnv>, deps: ApiDeps, access: Access): void {
  const limit = bodyLimit({
    maxSize: MAX_BODY,
    onError: (c) => c.json({ error: `request body larger than ${MAX_BODY} bytes` }, 413),
  });
  const requireAdmin = (c: Context) => {
    if (!access.adminToken) throw new UnauthorizedError('admin API disabled: no admin token');
    if (!adminBearer(c, access)) throw new UnauthorizedError('missing admin token (Authorization: Bearer)');
  };

  app.get('/api/v1/machines', async (c) => {
    const limit = queryInt(c, 'limit', API_PAGE_MAX, 1, API_PAGE_MAX);
    const offset = queryInt(c, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const counts = await deps.store.fleet.countByState();
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const machines = await deps.store.fleet.machinePage({ offset, limit });
    return c.json({ machines, total, offset, limit });
  });

  app.get('/api/v1/machines/:mac', async (c) => c.json(await machineDetail(deps.store, c.req.param('mac'))));

  app.post('/api/v1/machines/:mac/events', limit, async (c) => {
    const recorded = await acceptReport(
      deps,
      c.req.param('mac'),
      c.req.header('authorization'),
      await jsonBody(c),
    );
    c.set('mac', recorded.machine.mac);
    return c.json({ state: recorded.machine.state, event: recorded.event.type }, 201);
  });

  app.post('/api/v1/machines/:mac/reprovision', limit, async (c) => {
    requireAdmin(c);
    const recorded = await requestReprovision(deps.store, c.req.param('mac'));
    return c.json({ state: recorded.machine.state }, 202);
  });
}

function queryInt(c: Context, name: string, fallback: number, min: number, max: number): number {
  const raw = c.req.query(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max)
    throw new InvalidRequestError(`?${name}= must be an integer from ${min} to ${max}`);
  return n;
}
