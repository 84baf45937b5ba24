// /boot.ipxe and /ipxe: the scripts iPXE runs. iPXE does not run a script that comes with
// an error status, so when there is nothing to boot (no matching group, release not
// mirrored yet, the state store failing) iPXE clients get 200 with a script that prints
// why on the node's console and retries; other clients (curl, monitoring) get the same body
// with 404/503. Nothing but a malformed request (400) is ever an error status to iPXE.
import type { Context, Hono } from 'hono';
import type { BootDecision, BootService } from '../boot/service.ts';
import { errorMessage, RailyardError, StorageError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { factsFromQuery, type Mac } from '../machines/identity.ts';
import type { AppEnv } from './app.ts';
import { clientAddress } from './client.ts';

export type BootListener = (c: Context<AppEnv>, decision: BootDecision) => void;

const IPXE_HEADERS = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };
const STATUS: Partial<Record<BootDecision['kind'], 404 | 503>> = {
  'no-match': 404,
  'not-mirrored': 503,
  retry: 503,
};

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
  // Content-Length on every script: metrics count the bytes from it (metrics-routes.ts)
  const bootBytes = Buffer.byteLength(bootScript);
  const bootHeaders = { ...IPXE_HEADERS, 'Content-Length': String(bootBytes) };
  app.get('/boot.ipxe', (c) => {
    c.set('bytes', bootBytes);
    return c.body(bootScript, 200, bootHeaders);
  });

  app.get('/ipxe', async (c) => {
    const facts = factsFromQuery(c.req.queries());
    if (facts.mac) c.set('mac', facts.mac);
    const decision = await decide(boot, log, facts, clientAddress(c));
    onDecision?.(c, decision);
    if (decision.kind !== 'install' && decision.kind !== 'local-boot') {
      const release =
        decision.profile &&
        `${decision.profile.channel}/${decision.profile.board} ${decision.profile.version}`;
      log.warn(
        { mac: decision.mac, decision: decision.kind, profile: decision.profile?.id, release },
        `nothing to boot: ${decision.kind}`,
      );
    }
    if (decision.degraded)
      log.error({ mac: decision.mac, decision: decision.kind, err: decision.degraded }, 'boot not recorded');
    const status = STATUS[decision.kind] ?? 200;
    const bytes = Buffer.byteLength(decision.script);
    c.set('bytes', bytes);
    const headers: Record<string, string> = {
      ...IPXE_HEADERS,
      'Content-Length': String(bytes),
      'X-Railyard-Decision': decision.kind,
    };
    if (status === 503) headers['Retry-After'] = '60';
    return c.body(decision.script, isIpxe(c) ? 200 : status, headers);
  });
}

/** A failure that is not the request's fault becomes a retry script, never a 500 to iPXE. */
async function decide(
  boot: BootService,
  log: Logger,
  facts: ReturnType<typeof factsFromQuery>,
  ip: string | undefined,
): Promise<BootDecision> {
  try {
    return await boot.decide(facts, ip);
  } catch (err) {
    if (err instanceof RailyardError && !(err instanceof StorageError)) throw err;
    log.error({ mac: facts.mac, err: errorMessage(err) }, '/ipxe failed; answering a retry script');
    return boot.unavailable(facts.mac as Mac, 'internal error');
  }
}
