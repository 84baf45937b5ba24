// The dashboard's pool page (/ui/pool): pools, members, the claim form and release buttons.
// Plain HTML forms (no JavaScript needed), same-origin and signed in; bodies pass the
// dashboard's form limit (ui-routes.ts, mounted first). Claim errors show on the page.
import type { Context, Hono } from 'hono';
import { errorMessage, RailyardError } from '../errors.ts';
import { canonicalMac } from '../machines/identity.ts';
import { parseClaimRequest } from '../pool/claim-request.ts';
import { poolListing } from '../pool/listing.ts';
import type { PoolService } from '../pool/service.ts';
import type { AppEnv } from './app.ts';
import { statusFor } from './errors.ts';
import { isSignedIn, sameOrigin } from './ui-auth.ts';
import type { UiRouteDeps } from './ui-routes.ts';

const HEADERS = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' };

export function poolUiRoutes(app: Hono<AppEnv>, ui: UiRouteDeps, pool: PoolService): void {
  const render = async (
    c: Context,
    name: string,
    view: object,
    status: 200 | 400 | 401 | 403 | 404 | 409 = 200,
  ) =>
    c.body(
      ui.templates.render(name, { ...view, path: c.req.path, signedIn: await isSignedIn(c, ui.access) }),
      status,
      HEADERS,
    );
  const poolPage = async (
    c: Context,
    extra: { notice?: string; error?: string },
    status: 200 | 400 | 404 | 409 = 200,
  ) => {
    const profiles = [...pool.deps.machines().profiles.keys()].sort();
    return render(
      c,
      'page-pool',
      { title: 'Warm pool', ...(await poolListing(pool)), profiles, ...extra },
      status,
    );
  };
  const guard = async (c: Context) => {
    if (!sameOrigin(c))
      return render(c, 'page-message', { title: 'Refused', message: 'Cross-site request refused.' }, 403);
    if (!(await isSignedIn(c, ui.access)))
      return render(
        c,
        'page-message',
        { title: 'Sign in first', message: 'Claims and releases need the admin token.' },
        401,
      );
    return undefined;
  };

  app.get('/ui/pool', (c) =>
    poolPage(c, { notice: c.req.query('notice') === 'released' ? 'Claim released.' : '' }),
  );
  app.post('/ui/pool/claim', async (c) => {
    const refused = await guard(c);
    if (refused) return refused;
    const form = await c.req.parseBody();
    const text = (name: string) => (typeof form[name] === 'string' ? (form[name] as string).trim() : '');
    try {
      const claimed = await pool.claim(
        parseClaimRequest({
          profile: text('profile'),
          metadata: lines(text('metadata')),
          selector: lines(text('selector')),
          ...(text('mac') ? { mac: text('mac') } : { count: Number(text('count') || '1') }),
        }),
      );
      return poolPage(c, {
        notice: `Claimed ${claimed.map((m) => m.mac).join(', ')} for ${claimed[0]?.profile}.`,
      });
    } catch (err) {
      if (!(err instanceof RailyardError)) throw err;
      return poolPage(c, { error: errorMessage(err) }, statusFor(err) as 400 | 404 | 409);
    }
  });
  app.post('/ui/pool/:mac/release', async (c) => {
    const refused = await guard(c);
    if (refused) return refused;
    try {
      await pool.release(canonicalMac(c.req.param('mac')));
    } catch (err) {
      if (!(err instanceof RailyardError)) throw err;
      return poolPage(c, { error: errorMessage(err) }, statusFor(err) as 400 | 404 | 409);
    }
    return c.redirect('/ui/pool?notice=released', 303);
  });
}

/** `key=value` lines (blank lines skipped); a line without `=` is kept as a key with no value, which the schema refuses. */
function lines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)) {
    const i = line.indexOf('=');
    out[i < 0 ? line : line.slice(0, i).trim()] = i < 0 ? '' : line.slice(i + 1).trim();
  }
  return out;
}
