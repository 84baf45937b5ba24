// Update API: the fleet's versions and rollouts, one machine's update record, and the pause
// switch (admin token), per group with an update policy or `*` for all.
import type { Context, Hono } from 'hono';
import { UnauthorizedError } from '../errors.ts';
import { bearerToken, verifyAdminToken } from '../installer/tokens.ts';
import { canonicalMac } from '../machines/identity.ts';
import type { UpdateStore } from '../updates/client.ts';
import { ALL_GROUPS, type FleetDeps, fleetView, machineUpdate, setPaused } from '../updates/fleet.ts';
import type { AppEnv } from './app.ts';

export interface UpdateApiDeps extends FleetDeps {
  updates: UpdateStore;
  adminToken: string | undefined;
}

export function updateApiRoutes(app: Hono<AppEnv>, deps: UpdateApiDeps): void {
  const requireAdmin = (c: Context) => {
    if (!deps.adminToken)
      throw new UnauthorizedError('admin API disabled: set admin.token (RAILYARD_ADMIN_TOKEN)');
    if (!verifyAdminToken(deps.adminToken, bearerToken(c.req.header('authorization'))))
      throw new UnauthorizedError('missing or wrong admin token');
  };
  app.get('/api/v1/updates', async (c) => c.json(await fleetView(deps)));
  app.get('/api/v1/machines/:mac/update', async (c) =>
    c.json(await machineUpdate(deps.updates, canonicalMac(c.req.param('mac')))),
  );
  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post(`/api/v1/updates/groups/:group/${action}`, async (c) => {
      requireAdmin(c);
      await setPaused(deps, c.req.param('group'), paused, 'admin');
      return c.json({ group: c.req.param('group'), paused }, 200);
    });
    app.post(`/api/v1/updates/${action}`, async (c) => {
      requireAdmin(c);
      await setPaused(deps, ALL_GROUPS, paused, 'admin');
      return c.json({ group: ALL_GROUPS, paused }, 200);
    });
  }
}
