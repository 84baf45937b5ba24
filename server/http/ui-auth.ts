// Operators' access. Reads of /ui and /api/v1 need a dashboard session or the admin token
// (`Authorization: Bearer`), unless `ui.public` opens reads; writes always need the admin
// credential. The session cookie holds a random session id (AdminSessions), HttpOnly,
// SameSite=Strict, Secure over https. Wrong credentials count against the client's
// rate limit (LoginLimiter). Dashboard POSTs also pass a same-origin check.
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { LOGIN_LIMITS, LoginLimiter } from '../auth/login-limiter.ts';
import { AdminSessions } from '../auth/sessions.ts';
import { SignInLinks } from '../auth/sign-in-links.ts';
import { RateLimitedError, UnauthorizedError } from '../errors.ts';
import { bearerToken, verifyAdminToken } from '../installer/tokens.ts';
import type { SessionStore } from '../store/sessions.ts';
import type { AppEnv } from './app.ts';
import { clientAddress } from './client.ts';
import type { HostAllowList } from './host-check.ts';

export const SESSION_COOKIE = 'railyard_session';

export interface Access {
  /** The admin credential (configured or generated); undefined: nobody can sign in. */
  adminToken: string | undefined;
  sessions: AdminSessions;
  links: SignInLinks;
  limiter: LoginLimiter;
  /** `ui.public`: reads of /ui and GET /api/v1 need no sign-in. */
  publicRead: boolean;
  hosts: HostAllowList;
}

export function isSignedIn(c: Context, access: Access): Promise<boolean> {
  return access.sessions.valid(getCookie(c, SESSION_COOKIE));
}

export async function signIn(c: Context, access: Access): Promise<void> {
  const value = await access.sessions.issue();
  setCookie(c, SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    maxAge: Math.floor(access.sessions.ttlMs / 1000),
    secure: servedOverHttps(c),
  });
}

export async function signOut(c: Context, access: Access): Promise<void> {
  await access.sessions.revoke(getCookie(c, SESSION_COOKIE));
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: servedOverHttps(c) });
}

/** https here, or at the TLS proxy in front (X-Forwarded-Proto only ever adds Secure). */
function servedOverHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

/**
 * `Authorization: Bearer <admin token>`: true when right, false when absent. A wrong one
 * throws 401 and counts as a failed login; a client over its limit gets 429 unchecked.
 */
export function adminBearer(c: Context, access: Access): boolean {
  const presented = bearerToken(c.req.header('authorization'));
  if (presented === undefined) return false;
  const client = clientAddress(c);
  refuseIfLimited(access, client);
  if (verifyAdminToken(access.adminToken, presented)) return true;
  access.limiter.fail(client);
  throw new UnauthorizedError('wrong admin token');
}

/** Writes and secrets: the admin token as `Authorization: Bearer` (a session is not enough). */
export function requireAdmin(c: Context, access: Access, what = 'this request'): void {
  if (!access.adminToken) throw new UnauthorizedError('admin API disabled: no admin token');
  if (!adminBearer(c, access))
    throw new UnauthorizedError(`${what} needs the admin token (Authorization: Bearer)`);
}

export function refuseIfLimited(access: Access, client: string | undefined): void {
  const decision = access.limiter.check(client);
  if (!decision.allowed) {
    throw new RateLimitedError(
      `too many failed sign-ins from this client; try again in ${decision.retryAfterSec} s`,
      decision.retryAfterSec,
    );
  }
}

/** GET /api/v1/*: a session, the admin token, or `ui.public`. Other methods check their own. */
export function requireApiRead(access: Access): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    if (access.publicRead || adminBearer(c, access) || (await isSignedIn(c, access))) return next();
    c.header('WWW-Authenticate', 'Bearer realm="railyard"');
    throw new UnauthorizedError(
      'sign in at /ui/login, or send Authorization: Bearer <admin token> (admin.token, or <dataDir>/admin-token)',
    );
  };
}

/** Dashboard pages need a session unless `ui.public`; pages redirect to sign-in, fragments get 401. */
export function requireUiRead(access: Access): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    const path = c.req.path;
    if (path.startsWith('/ui/static/') || path === '/ui/login') return next();
    if (access.publicRead || (await isSignedIn(c, access))) return next();
    if (path.endsWith('/live')) return c.text('sign-in required', 401, { 'Cache-Control': 'no-store' });
    return c.redirect(`/ui/login?next=${encodeURIComponent(safeNext(path))}`, 303);
  };
}

/** A state-changing request from our own pages: same origin when the browser says so. */
export function sameOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = c.req.header('origin');
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === new URL(c.req.url).host;
  } catch {
    return false; // "null" (sandboxed or privacy-sensitive contexts) or garbage
  }
}

/** Where to go after signing in: only a dashboard path, never another site. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/ui(\/[A-Za-z0-9:._/-]*)?$/.test(next) && !next.includes('//')
    ? next
    : '/ui';
}

export interface AccessOptions {
  sessions: SessionStore;
  adminToken: string | undefined;
  sessionTtlMs: number;
  publicRead: boolean;
  hosts: HostAllowList;
  now?: () => number;
}

export function createAccess(o: AccessOptions): Access {
  const now = o.now ?? Date.now;
  return {
    adminToken: o.adminToken,
    sessions: new AdminSessions({ store: o.sessions, adminToken: o.adminToken, ttlMs: o.sessionTtlMs, now }),
    links: new SignInLinks(now),
    limiter: new LoginLimiter(LOGIN_LIMITS, now),
    publicRead: o.publicRead,
    hosts: o.hosts,
  };
}
