// Dashboard sign-in: the admin token in an HttpOnly, SameSite=Strict cookie, checked in
// constant time on every request that needs it; and the CSRF check for dashboard POSTs
// (SameSite=Strict does most of it; Origin and Sec-Fetch-Site are checked when present).
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { verifyAdminToken } from '../installer/tokens.ts';

export const ADMIN_COOKIE = 'railyard_admin';

export function isSignedIn(c: Context, adminToken: string | undefined): boolean {
  return verifyAdminToken(adminToken, getCookie(c, ADMIN_COOKIE));
}

export function signIn(c: Context, token: string): void {
  setCookie(c, ADMIN_COOKIE, token, {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    secure: new URL(c.req.url).protocol === 'https:',
  });
}

export function signOut(c: Context): void {
  deleteCookie(c, ADMIN_COOKIE, { path: '/' });
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
