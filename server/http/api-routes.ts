// JSON API: machines, their attempts and timelines, installer reports (report-routes.ts),
// reprovision. Installer reports carry their attempt's token from its installer cpio;
// other writes need the admin token. Tokens are compared in constant time and never logged.
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AttemptSource } from '../boot/attempts.ts';
import { UnauthorizedError } from '../errors.ts';
import { bearerToken, verifyAdminToken } from '../installer/tokens.ts';
import { machineDetail, requestReprovision } from '../store/queries.ts';
import type { StateStore } from '../store/state-store.ts';
import type { AppEnv } from './app.ts';
import type { TokenSource } from './installer-routes.ts';
import { reportRoutes } from './report-routes.ts';

export interface ApiDeps {
  store: StateStore;
  /** Attempts' installer inputs (BootService.attempts), for the admin's view of an attempt. */
  attempts: AttemptSource;
  credentials: TokenSource;
  publicUrl: string;
  adminToken: string | undefined;
}

const MAX_BODY = 64 * 1024;

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

  app.get('/api/v1/machines/:mac', async (c) => c.json(await machineDetail(deps.store, c.req.param('mac'))));

  app.post('/api/v1/machines/:mac/reprovision', limit, async (c) => {
    requireAdmin(c);
    const recorded = await requestReprovision(deps.store, c.req.param('mac'));
    return c.json({ state: recorded.machine.state }, 202);
  });

  reportRoutes(app, deps);
}
