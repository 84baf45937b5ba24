// Dashboard forms for the update pause switch (admin, signed in): per group and for all.
// Plain HTML POSTs (work without JavaScript), same-origin only, back to the fleet page.
// Their bodies pass the dashboard's 64 KiB form limit (ui-routes.ts, mounted first).
import type { Context, Hono } from 'hono';
import { ALL_GROUPS, type FleetDeps, setPaused } from '../updates/fleet.ts';
import type { AppEnv } from './app.ts';
import { isSignedIn, sameOrigin } from './ui-auth.ts';
import type { UiRouteDeps } from './ui-routes.ts';

const HEADERS = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' };

export function updateUiRoutes(app: Hono<AppEnv>, ui: UiRouteDeps, fleet: FleetDeps): void {
  const message = async (c: Context, title: string, text: string, status: 401 | 403) =>
    c.body(
      ui.templates.render('page-message', {
        title,
        message: text,
        path: c.req.path,
        signedIn: await isSignedIn(c, ui.access),
      }),
      status,
      HEADERS,
    );
  const toggle = async (c: Context, group: string, paused: boolean) => {
    if (!sameOrigin(c)) return message(c, 'Refused', 'Cross-site request refused.', 403);
    if (!(await isSignedIn(c, ui.access)))
      return message(c, 'Sign in first', 'Pausing and resuming updates needs the admin token.', 401);
    await setPaused(fleet, group, paused, 'admin (dashboard)');
    return c.redirect('/ui#updates-h', 303);
  };
  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post(`/ui/updates/groups/:group/${action}`, (c) => toggle(c, c.req.param('group'), paused));
    app.post(`/ui/updates/${action}`, (c) => toggle(c, ALL_GROUPS, paused));
  }
}
