// JSON API: machines, their timelines, installer reports, reprovision. Installer reports
// carry the per-machine token from the machine's installer cpio; other writes need the
// admin token. Tokens are compared in constant time and never logged.
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { InvalidRequestError, UnauthorizedError } from '../errors.ts';
import { acceptReport } from '../installer/reports.ts';
import { bearerToken, type MachineTokens, verifyAdminToken } from '../installer/tokens.ts';
import { machineDetail, requestReprovision } from '../store/queries.ts';
import type { StateStore } from '../store/state-store.ts';
import type { AppEnv } from './app.ts';

export interface ApiDeps {
  store: StateStore;
  tokens: MachineTokens;
  adminToken: string | undefined;
  /** `GET /api/v1/mirror`: what is mirrored (versions, sizes, derived image files) and the last refresh. */
  mirror?: { list(): Promise<unknown> };
}

const MAX_BODY = 64 * 1024;

async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidRequestError('request body is not valid JSON');
  }
}

export function apiRoutes(app: Hono<AppEnv>, deps: ApiDeps): void {
  const limit = bodyLimit({
    maxSize: MAX_BODY,
    onError: (c) => c.json({ error: `request body larger than ${MAX_BODY} bytes` }, 413),
  });
  const requireAdmin = (c: Context) => {
    if (!deps.adminToken)
      throw new UnauthorizedError('admin API disabled: set admin.token (RAILYARD_ADMIN_TOKEN)');
    if (!verifyAdminToken(deps.adminToken, bearerToken(c.req.header('authorization')))) {
      throw new UnauthorizedError('missing or wrong admin token');
    }
  };

  app.get('/api/v1/machines', async (c) => c.json({ machines: await deps.store.listMachines() }));

  const mirror = deps.mirror;
  if (mirror) app.get('/api/v1/mirror', async (c) => c.json(await mirror.list()));

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
