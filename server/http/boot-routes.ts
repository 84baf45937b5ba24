// /boot.ipxe and /ipxe: the scripts iPXE runs. iPXE does not run a script that comes with
// an error status, so when there is nothing to boot (no matching group, release not
// mirrored yet) iPXE clients get 200 with a script that prints why on the node's console
// and retries; other clients (curl, monitoring) get the same body with 404/503.
import type { Context, Hono } from 'hono';
import type { BootDecision, BootService } from '../boot/service.ts';
import type { Logger } from '../log.ts';
import { factsFromQuery } from '../machines/identity.ts';
import type { AppEnv } from './app.ts';

export type BootListener = (c: Context<AppEnv>, decision: BootDecision) => void;

const IPXE_HEADERS = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };

function isIpxe(c: Context): boolean {
  return /\biPXE\//.test(c.req.header('user-agent') ?? '');
}

export function bootRoutes(
  app: Hono<AppEnv>,
  boot: BootService,
  log: Logger,
  onDecision?: BootListener,
): void {
  const bootScript = boot.bootScript();
  app.get('/boot.ipxe', (c) => c.body(bootScript, 200, IPXE_HEADERS));

  app.get('/ipxe', async (c) => {
    const facts = factsFromQuery(c.req.query());
    if (facts.mac) c.set('mac', facts.mac);
    const decision = await boot.decide(facts);
    onDecision?.(c, decision);
    if (
      decision.kind === 'no-match' ||
      decision.kind === 'not-mirrored' ||
      decision.kind === 'show-failure'
    ) {
      const release =
        decision.profile &&
        `${decision.profile.channel}/${decision.profile.board} ${decision.profile.version}`;
      log.warn(
        { mac: decision.mac, decision: decision.kind, profile: decision.profile?.id, release },
        `nothing to boot: ${decision.kind}`,
      );
    }
    const status = decision.kind === 'no-match' ? 404 : decision.kind === 'not-mirrored' ? 503 : 200;
    const headers: Record<string, string> = { ...IPXE_HEADERS, 'X-Railyard-Decision': decision.kind };
    if (status === 503) headers['Retry-After'] = '60';
    return c.body(decision.script, isIpxe(c) ? 200 : status, headers);
  });
}
