// Installer reports (POST /api/v1/machines/<mac>/events): the token check, the allow-list
// and the store write in one place, so the HTTP route stays a thin adapter. The token is
// checked before the body is looked at; it is never logged or echoed.
import { UnauthorizedError } from '../errors.ts';
import { canonicalMac } from '../machines/identity.ts';
import { parseReport } from '../machines/report.ts';
import type { Recorded, StateStore } from '../store/state-store.ts';
import { bearerToken, type MachineTokens } from './tokens.ts';

export interface ReportDeps {
  store: StateStore;
  tokens: MachineTokens;
}

/**
 * Verify `Authorization: Bearer <machine token>`, validate the body against the report
 * allow-list and record it. Throws InvalidRequestError (bad MAC or body) or
 * UnauthorizedError (missing or wrong token: any other machine's token included).
 */
export async function acceptReport(
  deps: ReportDeps,
  rawMac: string,
  authorization: string | undefined,
  body: unknown,
): Promise<Recorded> {
  const mac = canonicalMac(rawMac);
  if (!deps.tokens.verify(mac, bearerToken(authorization))) {
    throw new UnauthorizedError(`installer report for ${mac}: missing or wrong machine token`);
  }
  const report = parseReport(body);
  return deps.store.recordEvent(mac, { type: report.type, source: report.source, data: report.data });
}
