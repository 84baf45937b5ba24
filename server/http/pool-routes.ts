// The warm pool over HTTP (docs/pool.md):
// - GET /api/v1/machines/<mac>/claim?have=<X.Y.Z>&wait=<1-60>: a pooled node's long-poll,
//   with its pool attempt's install token (no sign-in); 200 with what to do, 204 on timeout;
// - GET /api/v1/pool: the pool's members (sign-in, like every /api/v1 read);
// - POST /api/v1/pool/claim {profile, metadata?, count? | mac?, selector?, pool?} (admin);
// - POST /api/v1/pool/<mac>/release (admin).
import type { Hono } from 'hono';
import { InvalidRequestError } from '../errors.ts';
import { canonicalMac } from '../machines/identity.ts';
import { parseClaimRequest } from '../pool/claim-request.ts';
import { poolListing } from '../pool/listing.ts';
import type { ClaimPoller } from '../pool/long-poll.ts';
import type { PoolService } from '../pool/service.ts';
import { queryInt } from './api-routes.ts';
import type { AppEnv } from './app.ts';
import { readJson } from './report-routes.ts';
import { type Access, requireAdmin } from './ui-auth.ts';

export interface PoolRouteDeps {
  service: PoolService;
  poller: ClaimPoller;
}

const MAX_CLAIM_BODY = 64 * 1024;

export function poolRoutes(app: Hono<AppEnv>, deps: PoolRouteDeps, access: Access): void {
  app.get('/api/v1/machines/:mac/claim', async (c) => {
    const mac = canonicalMac(c.req.param('mac'));
    c.set('mac', mac);
    const have = c.req.query('have') ?? '';
    if (!/^(\d+\.\d+\.\d+)?$/.test(have)) throw new InvalidRequestError('?have= must be a version X.Y.Z');
    const wait = queryInt(c, 'wait', 55, 0, 60);
    const answer = await deps.poller.poll(mac, c.req.header('authorization'), have, wait, c.req.raw.signal);
    if (answer.status === 204) return c.body(null, 204, { 'Cache-Control': 'no-store' });
    return c.json(answer.body, 200, { 'Cache-Control': 'no-store' });
  });

  app.get('/api/v1/pool', async (c) => c.json(await poolListing(deps.service)));

  app.post('/api/v1/pool/claim', async (c) => {
    requireAdmin(c, access, 'a pool claim');
    const request = parseClaimRequest(await readJson(c, MAX_CLAIM_BODY));
    const claimed = await deps.service.claim(request);
    return c.json({ claimed }, 201);
  });

  app.post('/api/v1/pool/:mac/release', async (c) => {
    requireAdmin(c, access, 'a pool release');
    const mac = canonicalMac(c.req.param('mac'));
    return c.json({ mac, outcome: await deps.service.release(mac) }, 200);
  });
}
