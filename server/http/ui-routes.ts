// The dashboard (/ui): server-rendered pages and the fragments the page script polls for
// live updates, sign-in, and the reprovision form. View models come from ui/dashboard.ts;
// these handlers only translate HTTP. Who may read is decided by ui-auth.ts (mounted in
// app.ts). UI routes never set the request's `mac`: the operator's browser must not be
// taken for the machine's address.
import type { Context, Hono } from 'hono';
import { NotFoundError } from '../errors.ts';
import { verifyAdminToken } from '../installer/tokens.ts';
import type { Mac } from '../machines/identity.ts';
import { canonicalMac } from '../machines/identity.ts';
import type { Dashboard } from '../ui/dashboard.ts';
import type { UiTemplates } from '../ui/templates.ts';
import type { AppEnv } from './app.ts';
import { limitBody } from './body-limit.ts';
import { clientAddress } from './client.ts';
import {
  type Access,
  isSignedIn,
  refuseIfLimited,
  safeNext,
  sameOrigin,
  signIn,
  signOut,
} from './ui-auth.ts';

export interface UiRouteDeps {
  dashboard: Dashboard;
  templates: UiTemplates;
  access: Access;
}

type Status = 200 | 401 | 403 | 404 | 429;

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

type PageRenderer = (c: Context, name: string, view: object, status?: Status) => Promise<Response>;

export function uiRoutes(app: Hono<AppEnv>, deps: UiRouteDeps): void {
  const { dashboard, templates, access } = deps;
  const html = (c: Context, name: string, view: object, status: Status = 200) =>
    c.body(templates.render(name, view), status, HTML_HEADERS);
  const page: PageRenderer = async (c, name, view, status = 200) =>
    html(c, name, { ...view, signedIn: await isSignedIn(c, access), path: c.req.path }, status);
  const machinePage = async (c: Context, render: (mac: Mac) => Promise<Response>) => {
    try {
      return await render(canonicalMac(c.req.param('mac') ?? ''));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      return page(c, 'page-message', { title: 'No such machine', message: err.message }, 404);
    }
  };
  const pageNumber = (c: Context) => Number.parseInt(c.req.query('page') ?? '1', 10) || 1;

  app.get('/', (c) => c.redirect('/ui', 302));
  app.get('/ui/static/:file', (c) => {
    const file = templates.staticFile(c.req.param('file'));
    if (!file) throw new NotFoundError(`no dashboard file ${c.req.param('file')}`);
    const headers = { 'Content-Type': file.type, ETag: file.etag, 'Cache-Control': 'no-cache' };
    if (c.req.header('if-none-match') === file.etag) return c.body(null, 304, headers);
    return c.body(file.body, 200, headers);
  });
  app.get('/ui', async (c) =>
    page(c, 'page-overview', { title: 'Fleet', refresh: true, ...(await dashboard.overview(pageNumber(c))) }),
  );
  // The fragment is rendered once per cached model (Dashboard.overview reuses models briefly).
  const fragments = new WeakMap<object, string>();
  app.get('/ui/live', async (c) => {
    const model = await dashboard.overview(pageNumber(c));
    const text = fragments.get(model) ?? templates.render('overview', model);
    fragments.set(model, text);
    return c.body(text, 200, HTML_HEADERS);
  });
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

function authRoutes(app: Hono<AppEnv>, deps: UiRouteDeps, page: PageRenderer): void {
  const { access } = deps;
  const login = (c: Context, view: { next: string; link?: string; error?: string }, status: Status = 200) =>
    page(c, 'page-login', { title: 'Sign in', disabled: !access.adminToken, ...view }, status);
  const forbidden = (c: Context) =>
    page(c, 'page-message', { title: 'Refused', message: 'Cross-site request refused.' }, 403);

  app.use('/ui/*', async (c, next) => (c.req.method === 'POST' ? limitBody()(c, next) : next()));
  app.get('/ui/login', (c) => {
    const link = c.req.query('link');
    return login(c, { next: safeNext(c.req.query('next')), ...(link ? { link } : {}) });
  });
  app.post('/ui/login', async (c) => {
    if (!sameOrigin(c)) return forbidden(c);
    const client = clientAddress(c);
    const form = await c.req.parseBody();
    const next = safeNext(form['next']);
    const field = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : undefined);
    const link = field('link');
    try {
      refuseIfLimited(access, client);
    } catch (err) {
      c.header('Retry-After', String((err as { retryAfterSec?: number }).retryAfterSec ?? 60));
      return login(c, { next, error: (err as Error).message }, 429);
    }
    const ok = link !== undefined ? access.links.consume(link) : checkToken(access, field('token'));
    if (!ok) {
      access.limiter.fail(client);
      const error =
        link !== undefined ? 'This sign-in link was already used or has expired.' : 'Wrong admin token.';
      return login(c, { next, error }, 401);
    }
    access.limiter.succeed(client);
    await signIn(c, access);
    return c.redirect(next, 303);
  });
  app.post('/ui/logout', async (c) => {
    if (!sameOrigin(c)) return forbidden(c);
    await signOut(c, access);
    return c.redirect('/ui/login', 303);
  });
  app.post('/ui/machines/:mac/reprovision', async (c) => {
    if (!sameOrigin(c)) return forbidden(c);
    if (!(await isSignedIn(c, access))) {
      return page(
        c,
        'page-message',
        { title: 'Sign in first', message: 'Reprovision needs the admin token.' },
        401,
      );
    }
    const mac = canonicalMac(c.req.param('mac'));
    await deps.dashboard.reprovision(mac);
    return c.redirect(`/ui/machines/${mac}?notice=reprovision`, 303);
  });
}

function checkToken(access: Access, token: string | undefined): boolean {
  return verifyAdminToken(access.adminToken, token);
}
