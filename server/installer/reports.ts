// Installer reports (POST /api/v1/machines/<mac>/attempts/<id>/events): the credential
// check, the allow-list, the attempt's rule and the store write in one place, so the HTTP
// route stays a thin adapter. The token is checked before the body is read (401 before
// 400); it is never logged or echoed. A report that does not fit its attempt is a 409
// (ConflictError, from report-rules.ts inside the store's transaction) and changes nothing.
import { ConflictError, UnauthorizedError } from '../errors.ts';
import type { Mac } from '../machines/identity.ts';
import { parseReport } from '../machines/report.ts';
import { type Credential, REPORT_RULES, reportStep } from '../machines/report-rules.ts';
import type { Recorded, StateStore, StoredAttempt } from '../store/state-store.ts';
import { matchCredential } from './credentials.ts';
import { bearerToken } from './tokens.ts';

export interface ReportDeps {
  store: StateStore;
}

export interface Authenticated {
  attempt: StoredAttempt;
  credential: Credential;
}

/**
 * The attempt the bearer token belongs to: attempt `attemptId` of `mac`, or (no id: the
 * legacy URL) the machine's open attempt. UnauthorizedError for a missing or wrong token,
 * another machine's or another attempt's included; which of those it was is not said.
 */
export async function authenticateReport(
  store: StateStore,
  mac: Mac,
  attemptId: number | undefined,
  authorization: string | undefined,
): Promise<Authenticated> {
  const attempt =
    attemptId === undefined ? await store.openAttemptOf(mac) : await store.getAttempt(attemptId);
  const credential =
    attempt && attempt.mac === mac ? matchCredential(attempt.secrets, bearerToken(authorization)) : undefined;
  if (!attempt || !credential) {
    const which = attemptId === undefined ? 'its open install attempt' : `install attempt ${attemptId}`;
    throw new UnauthorizedError(`report for ${mac}: missing or wrong token for ${which}`);
  }
  return { attempt, credential };
}

/**
 * Authenticate, then read and validate the body, then record it if the attempt accepts it.
 * Throws UnauthorizedError (401), InvalidRequestError (400: bad MAC or body), or
 * ConflictError (409: the report does not fit the attempt's state).
 */
export async function acceptReport(
  deps: ReportDeps,
  mac: Mac,
  attemptId: number | undefined,
  authorization: string | undefined,
  readBody: () => Promise<unknown>,
): Promise<Recorded> {
  const { attempt, credential } = await authenticateReport(deps.store, mac, attemptId, authorization);
  const report = parseReport(await readBody());
  const needed = REPORT_RULES[report.type].credential;
  if (needed !== credential)
    throw new UnauthorizedError(
      `report for ${attempt.mac}: ${report.type} needs attempt ${attempt.id}'s ${needed} token, not its ${credential} token`,
    );
  return deps.store.recordReport(
    attempt.id,
    { type: report.type, source: report.source, data: report.data },
    (current) => {
      // A pooled node names the release on its disk: it must be the one its attempt pinned.
      if (report.type === 'pooled' && report.data['version'] !== current.version)
        throw new ConflictError(
          `pooled does not fit attempt ${current.id}: it reports ${String(report.data['version'])}, the attempt installs ${current.version}`,
        );
      return reportStep(report.type, current);
    },
  );
}
