// The dashboard (/ui): server-rendered pages and the fragments the page script polls for
// live updates, sign-in, and the reprovision form. View models come from ui/dashboard.ts;
// these handlers only translate HTTP. UI routes never set the request's `mac`: the
// operator's browser must not be taken for the machine's address.
import type { Context, Hono } from 'hono';
import { NotFoundError } from '../errors.ts';
import { verifyAdminToken } from '../installer/tokens.ts';
import { canonicalMac } from '../machines/identity.ts';
import type { Dashboard } from '../ui/dashboard.ts';
import type { UiTemplates } from '../ui/templates.ts';
import type { AppEnv } from './app.ts';
import { isSignedIn, safeNext, sameOrigin, signIn, signOut } from './ui-auth.ts';

export interface UiRouteDeps {
  dashboard: Dashboard;
  templates: UiTemplates;
  adminToken: string | undefined;
}

const HTML_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; " +
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

const NOTICES: Record<string, string> = {
  reprovision: 'Reprovision requested: the next PXE boot installs again.',
};

export function uiRoutes(app: Hono<AppEnv>, deps: UiRouteDeps): void {
  const { dashboard, templates } = deps;
  const html = (c: Context, name: string, view: object, status: 200 | 401 | 403 | 404 = 200) =>
    c.body(templates.render(name, view), status, HTML_HEADERS);
  const page = (c: Context, name: string, view: object, status: 200 | 401 | 403 | 404 = 200) =>
    html(c, name, { ...view, signedIn: isSignedIn(c, deps.adminToken), path: c.req.path }, status);
  const machinePage = async (c: Context, render: (mac: string) => Promise<Response>) => {
    try {
      return await render(c.req.param('mac') ?? '');
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      return page(c, 'page-message', { title: 'No such machine', message: err.message }, 404);
    }
  };

  app.get('/', (c) => c.redirect('/ui', 302));
  app.get('/ui/static/:file', (c) => {
    const file = templates.staticFile(c.req.param('file'));
    if (!file) throw new NotFoundError(`no dashboard file ${c.req.param('file')}`);
    const headers = { 'Content-Type': file.type, ETag: file.etag, 'Cache-Control': 'no-cache' };
    if (c.req.header('if-none-match') === file.etag) return c.body(null, 304, headers);
    return c.body(file.body, 200, headers);
  });
  app.get('/ui', async (c) =>
    page(c, 'page-overview', { title: 'Fleet', refresh: true, ...(await dashboard.overview()) }),
  );
  app.get('/ui/live', async (c) => html(c, 'overview', await dashboard.overview()));
  app.get('/ui/machines/:mac', (c) =>
    machinePage(c, async (mac) => {
      const model = await dashboard.machine(mac);
      const notice = NOTICES[c.req.query('notice') ?? ''];
      return page(c, 'page-machine', { title: model.mac, refresh: true, notice, ...model });
    }),
  );
  app.get('/ui/machines/:mac/live', (c) =>
    machinePage(c, async (mac) => html(c, 'machine', await dashboard.machine(mac))),
  );
  authRoutes(app, deps, page);
}

type PageRenderer = (c: Context, name: string, view: object, status?: 200 | 401 | 403 | 404) => Response;

function authRoutes(app: Hono<AppEnv>, deps: UiRouteDeps, page: PageRenderer): void {
  const login = (c: Context, next: string, error?: string) =>
    page(c, 'page-login', { title: 'Sign in', next, error, disabled: !deps.adminToken }, error ? 401 : 200);
  const forbidden = (c: Context) =>
    page(c, 'page-message', { title: 'Refused', message: 'Cross-site request refused.' }, 403);

  app.get('/ui/login', (c) => login(c, safeNext(c.req.query('next'))));
  app.post('/ui/login', async (c) => {
    if (!sameOrigin(c)) return forbidden(c);
    const form = await c.req.parseBody();
    const next = safeNext(form['next']);
    const token = typeof form['token'] === 'string' ? form['token'] : '';
    if (!verifyAdminToken(deps.adminToken, token)) return login(c, next, 'Wrong admin token.');
    signIn(c, token);
    return c.redirect(next, 303);
  });
  app.post('/ui/logout', (c) => {
    if (!sameOrigin(c)) return forbidden(c);
    signOut(c);
    return c.redirect('/ui', 303);
  });
  app.post('/ui/machines/:mac/reprovision', async (c) => {
    if (!sameOrigin(c)) return forbidden(c);
    const mac = c.req.param('mac');
    if (!isSignedIn(c, deps.adminToken)) {
      return page(
        c,
        'page-message',
        { title: 'Sign in first', message: 'Reprovision needs the admin token.' },
        401,
      );
    }
    await deps.dashboard.reprovision(mac);
    return c.redirect(`/ui/machines/${canonicalMac(mac)}?notice=reprovision`, 303);
  });
}
