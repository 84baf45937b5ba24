// Installer and first-boot reports, and what an admin may read of an attempt:
// - POST /api/v1/machines/<mac>/attempts/<id>/events: a report on install attempt <id>,
//   with that attempt's install or first-boot token (the installer's REPORT_URL);
// - POST /api/v1/machines/<mac>/events: the same for the machine's open attempt (kept for
//   older installers and scripts);
// - GET /api/v1/machines/<mac>/attempts/<id>/target.ign (admin token): the installed
//   system's Ignition that attempt rendered, byte for byte.
// The token is checked before the body is read: 401 before 413/400, then 409.
import type { Context, Hono } from 'hono';
import { InvalidRequestError, TooLargeError } from '../errors.ts';
import { targetIgnition } from '../installer/ignition.ts';
import { acceptReport } from '../installer/reports.ts';
import { reportUrl } from '../installer/script.ts';
import { canonicalMac } from '../machines/identity.ts';
import type { ApiDeps } from './api-routes.ts';
import type { AppEnv } from './app.ts';
import { attemptParam } from './installer-routes.ts';
import { type Access, requireAdmin } from './ui-auth.ts';

export const MAX_REPORT_BODY = 64 * 1024;

/** The body as JSON, read only up to `max` bytes (a longer one is refused as it streams). */
export async function readJson(c: Context, max: number): Promise<unknown> {
  const tooLarge = () => new TooLargeError(`request body larger than ${max} bytes`);
  if (Number(c.req.header('content-length') ?? 0) > max) throw tooLarge();
  const reader = c.req.raw.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const next = reader ? await reader.read() : { done: true as const, value: undefined };
    if (next.done) break;
    size += next.value.byteLength;
    if (size > max) {
      await reader?.cancel();
      throw tooLarge();
    }
    chunks.push(next.value);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new InvalidRequestError('request body is not valid JSON');
  }
}

export function reportRoutes(app: Hono<AppEnv>, deps: ApiDeps, access: Access): void {
  const report = async (c: Context<AppEnv>, attemptId: number | undefined) => {
    const recorded = await acceptReport(
      deps,
      canonicalMac(c.req.param('mac') ?? ''),
      attemptId,
      c.req.header('authorization'),
      () => readJson(c, MAX_REPORT_BODY),
    );
    c.set('mac', recorded.machine.mac);
    if (recorded.attempt) c.set('attempt', recorded.attempt.id);
    return c.json(
      {
        state: recorded.machine.state,
        event: recorded.event.type,
        attempt: recorded.attempt?.id ?? null,
        attemptState: recorded.attempt?.state ?? null,
      },
      201,
    );
  };
  app.post('/api/v1/machines/:mac/attempts/:id/events', (c) =>
    report(c, attemptParam(c.req.param('id')) as number),
  );
  app.post('/api/v1/machines/:mac/events', (c) => report(c, undefined));

  app.get('/api/v1/machines/:mac/attempts/:id/target.ign', async (c) => {
    requireAdmin(c, access, 'the attempt target Ignition');
    const mac = canonicalMac(c.req.param('mac'));
    const source = deps.attempts;
    const stored = await source.attempt(mac, attemptParam(c.req.param('id')) as number);
    const headers = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
    const claimed = await deps.claimTarget?.(stored);
    if (claimed !== undefined) return c.body(claimed, 200, headers);
    const { attempt, view, profile } = await source.inputs(stored);
    const tokens = deps.credentials.tokens(attempt.secrets.nonce);
    const text = targetIgnition({
      profile,
      view,
      version: attempt.version,
      reportUrl: reportUrl(deps.publicUrl, mac, attempt.id),
      firstBootToken: tokens.firstBoot,
    });
    return c.body(text, 200, headers);
  });
}
