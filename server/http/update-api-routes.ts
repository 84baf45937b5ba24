// Update API: the fleet's versions and rollouts, one machine's update record, and the pause
// switch (admin token), per group with an update policy or `*` for all. Reads pass the
// /api/v1 sign-in (app.ts); the pause switch needs the admin token as Bearer (ui-auth.ts).
import type { Hono } from 'hono';
import { canonicalMac } from '../machines/identity.ts';
import {
  ALL_GROUPS,
  FLEET_PAGE_MAX,
  type FleetDeps,
  fleetView,
  machineUpdate,
  setPaused,
} from '../updates/fleet.ts';
import { queryInt } from './api-routes.ts';
import type { AppEnv } from './app.ts';
import { type Access, requireAdmin } from './ui-auth.ts';

export type UpdateApiDeps = FleetDeps;

export function updateApiRoutes(app: Hono<AppEnv>, deps: UpdateApiDeps, access: Access): void {
  app.get('/api/v1/updates', async (c) => {
    const limit = queryInt(c, 'limit', FLEET_PAGE_MAX, 1, FLEET_PAGE_MAX);
    const offset = queryInt(c, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    return c.json(await fleetView(deps, { offset, limit }));
  });
  app.get('/api/v1/machines/:mac/update', async (c) =>
    c.json(await machineUpdate(deps.updates, canonicalMac(c.req.param('mac')))),
  );
  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post(`/api/v1/updates/groups/:group/${action}`, async (c) => {
      requireAdmin(c, access, `${action} updates`);
      await setPaused(deps, c.req.param('group'), paused, 'admin');
      return c.json({ group: c.req.param('group'), paused }, 200);
    });
    app.post(`/api/v1/updates/${action}`, async (c) => {
      requireAdmin(c, access, `${action} updates`);
      await setPaused(deps, ALL_GROUPS, paused, 'admin');
      return c.json({ group: ALL_GROUPS, paused }, 200);
    });
  }
}
